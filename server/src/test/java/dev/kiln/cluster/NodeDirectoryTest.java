package dev.kiln.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.Database;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Placement and routing as a control instance decides them, on a real store: new sandboxes spread
 * by load even when one node alone has the template, a node selector and labels are honoured with
 * the reason when they cannot be, and a sandbox whose node is down is lost to everything but reads.
 */
class NodeDirectoryTest {
  @TempDir Path dir;
  private Database db;
  private NodeRegistry nodes;
  private SandboxRepository sandboxes;
  private NodeDirectory directory;

  @BeforeEach
  void open() throws Exception {
    db = Database.open(dir.resolve("k.db"));
    nodes = new NodeRegistry(new NodeRepository(db));
    sandboxes = new SandboxRepository(db);
    directory = new NodeDirectory(nodes, sandboxes);
    new TemplateRepository(db).upsert(new TemplateRow("base", "READY", "dir:/x", Optional.of("/x.ext4"), OptionalLong.of(10), Optional.empty(),
        Instant.now(), Instant.now(), Optional.empty(), Optional.of("{}"), 256, "MICROVM", ""));
    register("nd-a", "a", List.of("base"), Map.of("zone", "z1"));
    register("nd-b", "b", List.of(), Map.of("zone", "z2"));
    register("nd-c", "c", List.of(), Map.of("zone", "z2", "gpu", "yes"));
  }

  @AfterEach
  void close() {
    db.close();
  }

  private void register(String id, String name, List<String> templates, Map<String, String> labels) {
    nodes.register(id, name, "http://127.0.0.1:1", NodeRole.NODE, new NodeCapacity(2, 4096, 1000, 0, templates, "tcg"), NodeCredential.random(),
        Optional.empty(), labels);
  }

  /** Creates as a node does after placement: its row carries the node. */
  private void placeAndStore(int count) {
    for (int i = 0; i < count; i++) {
      String node = directory.forNewSandbox(Optional.empty(), Map.of(), "base").nodeId();
      sandboxes.insert(new SandboxRow("sb-" + node + "-" + i + "-" + System.nanoTime(), "base", "RUNNING", 1, 256, 0, "{}", "{}", Optional.empty(),
          OptionalLong.empty(), Optional.empty(), Instant.now(), Optional.empty(), "DELETE", node, ""));
    }
  }

  @Test
  void newSandboxesSpreadOverTheNodesThoughOnlyOneHasTheTemplate() {
    placeAndStore(12);
    Map<String, Integer> count = new HashMap<>(sandboxes.countByNode());
    assertEquals(3, count.size(), "every node got some: " + count);
    assertTrue(count.get("nd-a") >= count.get("nd-b") && count.get("nd-a") >= count.get("nd-c"), "the node with the template is no less loaded: " + count);
    assertTrue(count.values().stream().allMatch(n -> n >= 2), "no node left nearly empty: " + count);
  }

  @Test
  void aNamedNodeAndLabelsAreHonouredOrRefusedWithTheReason() {
    assertEquals("nd-b", directory.forNewSandbox(Optional.of("b"), Map.of(), "base").nodeId());
    assertEquals("nd-c", directory.forNewSandbox(Optional.empty(), Map.of("gpu", "yes"), "base").nodeId());
    KilnException none = assertThrows(KilnException.class, () -> directory.forNewSandbox(Optional.empty(), Map.of("zone", "z9"), "base"));
    assertEquals(ErrorCode.NO_NODE_AVAILABLE, none.code());
    assertTrue(none.getMessage().contains("carries the labels {zone=z9}"), none.getMessage());
    KilnException unknown = assertThrows(KilnException.class, () -> directory.forNewSandbox(Optional.of("nowhere"), Map.of(), "base"));
    assertEquals(ErrorCode.NODE_NOT_FOUND, unknown.code());
    nodes.cordon("nd-b");
    KilnException cordoned = assertThrows(KilnException.class, () -> directory.forNewSandbox(Optional.of("nd-b"), Map.of(), "base"));
    assertTrue(cordoned.getMessage().contains("cordoned"), cordoned.getMessage());
  }

  @Test
  void aMoveGoesToAnotherNodeThatTakesSandboxesNeverToItsOwn() {
    sandboxes.insert(new SandboxRow("sb-moving", "base", "RUNNING", 1, 256, 0, "{}", "{}", Optional.empty(), OptionalLong.empty(), Optional.empty(),
        Instant.now(), Optional.empty(), "DELETE", "nd-a", ""));
    nodes.cordon("nd-c");
    for (int i = 0; i < 10; i++) assertEquals("nd-b", directory.forMove("sb-moving", Optional.empty()).nodeId(), "the one other node taking sandboxes");
    assertEquals("nd-b", directory.forMove("sb-moving", Optional.of("b")).nodeId());
    KilnException own = assertThrows(KilnException.class, () -> directory.forMove("sb-moving", Optional.of("a")));
    assertEquals(ErrorCode.INVALID_REQUEST, own.code());
    assertTrue(own.getMessage().contains("runs on node a already"), own.getMessage());
    nodes.cordon("nd-b");
    assertEquals(ErrorCode.NO_NODE_AVAILABLE, assertThrows(KilnException.class, () -> directory.forMove("sb-moving", Optional.empty())).code());
  }

  @Test
  void aSandboxOnANodeThatIsDownIsLostToAllButReadsOfItsRow() {
    sandboxes.insert(new SandboxRow("sb-on-b", "base", "RUNNING", 1, 256, 0, "{}", "{}", Optional.empty(), OptionalLong.empty(), Optional.empty(),
        Instant.now(), Optional.empty(), "DELETE", "nd-b", ""));
    assertEquals("nd-b", directory.forSandbox("sb-on-b", false).nodeId());
    nodes.stopped("nd-b");
    KilnException lost = assertThrows(KilnException.class, () -> directory.forSandbox("sb-on-b", false));
    assertEquals(ErrorCode.SANDBOX_LOST, lost.code());
    assertTrue(directory.forSandbox("sb-on-b", true).up(), "its row is read from a node that is up");
    assertEquals("nd-a", directory.forSandbox("sb-nobody-has", false).nodeId(), "an unknown id goes to the first node up, which answers 404");
  }
}
