package dev.kiln.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import org.junit.jupiter.api.Test;

/** The internal paths a control instance calls with a node's credential take only what a sandbox id and a checkpoint name can be. */
class NodeInternalRoutesTest {
  private static final String ID = "sb-abcdefghij234567";

  @Test
  void aValidIdAndNameMakeThePath() {
    assertEquals("/internal/v1/sandboxes/" + ID + "/checkpoints/cp-1.a_b/fork", NodeInternalRoutes.path(NodeInternalRoutes.FORK_CHECKPOINT, ID, "cp-1.a_b"));
    assertEquals("/internal/v1/sandboxes/" + ID + "/adopt", NodeInternalRoutes.path(NodeInternalRoutes.ADOPT, ID, null));
  }

  @Test
  void namesOrIdsThatWouldMakeAnotherRouteAreRefused() {
    for (String name : new String[] {"x/../../" + ID + "/adopt?", "..", "a b", "a%2F", "", "a?b", "-x"}) {
      KilnException e = assertThrows(KilnException.class, () -> NodeInternalRoutes.path(NodeInternalRoutes.FORK_CHECKPOINT, ID, name), name);
      assertEquals(ErrorCode.INVALID_REQUEST, e.code(), name);
    }
    for (String id : new String[] {"../x", ID + "/..", "sb-x?y"}) {
      KilnException e = assertThrows(KilnException.class, () -> NodeInternalRoutes.path(NodeInternalRoutes.ADOPT, id, null), id);
      assertEquals(ErrorCode.SANDBOX_NOT_FOUND, e.code(), id);
    }
  }
}
