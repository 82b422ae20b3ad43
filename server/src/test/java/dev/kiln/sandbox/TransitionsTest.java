package dev.kiln.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The sandbox state table: what it allows, what it refuses and how, and that docs/DESIGN.md shows it as it is. */
class TransitionsTest {
  @Test
  void aDeleteIsAcceptedInEveryState() {
    for (SandboxState s : SandboxState.values()) {
      assertEquals(Optional.of(SandboxState.STOPPING), Transitions.check("sb-x", s, Operation.DELETE), s.wire());
    }
  }

  @Test
  void repeatingWhereTheSandboxAlreadyIsChangesNothing() {
    assertEquals(Optional.empty(), Transitions.check("sb-x", SandboxState.RUNNING, Operation.RESUME));
    assertEquals(Optional.empty(), Transitions.check("sb-x", SandboxState.STOPPED, Operation.STOP));
    assertEquals(Optional.empty(), Transitions.check("sb-x", SandboxState.RUNNING, Operation.START));
    assertEquals(Optional.empty(), Transitions.check("sb-x", SandboxState.ERROR, Operation.FAIL));
  }

  @Test
  void aRefusalIsA409NamingTheStateWhatTheOperationNeedsAndWhatToDo() {
    KilnException e = assertThrows(KilnException.class, () -> Transitions.check("sb-x", SandboxState.PAUSED, Operation.CHECKPOINT));
    assertEquals(ErrorCode.ILLEGAL_TRANSITION, e.code());
    assertEquals("sandbox sb-x is paused; a checkpoint needs running (resume it first)", e.getMessage());
    e = assertThrows(KilnException.class, () -> Transitions.check("sb-x", SandboxState.CREATING, Operation.STOP));
    assertEquals("sandbox sb-x is creating; a stop needs running or paused", e.getMessage());
    e = assertThrows(KilnException.class, () -> Transitions.check("sb-x", SandboxState.STOPPING, Operation.RESTORE));
    assertEquals("sandbox sb-x is stopping; a restore needs running, paused, stopped or error", e.getMessage());
  }

  @Test
  void execAndFilesOnASandboxThatIsNotRunningAnswerSandboxNotRunning() {
    KilnException e = assertThrows(KilnException.class, () -> Transitions.check("sb-x", SandboxState.STOPPED, Operation.USE));
    assertEquals(ErrorCode.SANDBOX_NOT_RUNNING, e.code());
    assertEquals("sandbox sb-x is stopped, not running", e.getMessage());
    assertEquals(Optional.of(SandboxState.RUNNING), Transitions.check("sb-x", SandboxState.PAUSED, Operation.USE), "a paused sandbox is resumed for them");
  }

  @Test
  void nothingButADeleteOrAFailureLeavesStopping() {
    for (Operation op : Operation.values()) {
      if (op == Operation.DELETE || op == Operation.FAIL) continue;
      assertTrue(Transitions.rule(SandboxState.STOPPING, op) instanceof Transitions.Refused, op.verb());
    }
  }

  @Test
  void designDocShowsTheTableAsTheCodeHasIt() throws Exception {
    String design = Files.readString(Path.of("..", "docs", "DESIGN.md"));
    assertTrue(design.contains(Transitions.render()), () -> "docs/DESIGN.md must contain the state table as Transitions.render() prints it:\n"
        + Transitions.render());
  }
}
