package dev.kiln.cluster;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.store.Database;
import dev.kiln.store.LeaseRepository;
import dev.kiln.store.NodeRepository;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two daemons sharing one store, in one process: one leads a job until it stops renewing, then the
 * other takes it over; a node whose heartbeats stop is marked down by the leader and comes back
 * with its next heartbeat. Real SQLite, real clock (short leases).
 */
class LeadershipAndLivenessTest {
  private static final Duration LEASE = Duration.ofMillis(600);
  @TempDir Path dir;
  private Database db;

  @BeforeEach
  void open() throws Exception {
    db = Database.open(dir.resolve("k.db"));
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void aJobChangesHandsWhenItsLeaderStopsRenewingAndAtOnceWhenItReleases() {
    Leadership a = new Leadership(new LeaseRepository(db), "a", LEASE);
    Leadership b = new Leadership(new LeaseRepository(db), "b", LEASE);
    assertTrue(a.leads("job"));
    assertFalse(b.leads("job"), "a leads it");
    assertTrue(a.leads("job"), "a renews while it runs");
    // a dies: it asks no more. b gets the job once a's lease has run out.
    long t0 = System.nanoTime();
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> b.leads("job"));
    assertTrue(System.nanoTime() - t0 >= LEASE.toNanos() / 3, "not before a's lease could have expired");
    assertFalse(a.leads("job"), "a, back, finds it taken");
    b.close();
    assertTrue(a.leads("job"), "released: a takes it at once");
  }

  @Test
  void theLeaderMarksASilentNodeDownAndItsNextHeartbeatBringsItBack() throws Exception {
    NodeRegistry registry = new NodeRegistry(new NodeRepository(db));
    NodeCapacity capacity = new NodeCapacity(2, 4096, 1000, 0, List.of("base"), "tcg");
    NodeHeartbeat quiet = new NodeHeartbeat(registry, "nd-quiet", "quiet", "http://127.0.0.1:1", NodeRole.COMBINED, () -> capacity, NodeCredential.random(), java.util.Optional.empty(), java.util.Map.of());
    NodeHeartbeat busy = new NodeHeartbeat(registry, "nd-busy", "busy", "http://127.0.0.1:2", NodeRole.COMBINED, () -> capacity, NodeCredential.random(), java.util.Optional.empty(), java.util.Map.of());
    quiet.register();
    busy.register();
    NodeLiveness liveness = new NodeLiveness(registry, new Leadership(new LeaseRepository(db), "leader", Duration.ofSeconds(10)),
        Duration.ofMillis(400));
    await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() -> {
      busy.beat();
      liveness.check();
      return registry.get("nd-quiet").state() == NodeState.DOWN;
    });
    assertEquals(NodeState.UP, registry.get("nd-busy").state(), "a node that heartbeats stays up");
    Node down = registry.get("nd-quiet");
    assertFalse(down.acceptsSandboxes());
    assertTrue(down.downReason().orElseThrow().startsWith("no heartbeat for 0.4 s"), down.downReason().toString());
    quiet.beat();
    assertEquals(NodeState.UP, registry.get("nd-quiet").state());
    assertEquals(List.of("base"), registry.get("nd-quiet").capacity().templates());
  }

  @Test
  void aNodeIdIsMadeOnceAndKept() throws Exception {
    String id = NodeIdentity.loadOrCreate(dir);
    assertTrue(id.matches("nd-[a-z0-9]{16}"), id);
    assertEquals(id, NodeIdentity.loadOrCreate(dir), "a restarted daemon is the same node");
    Files.writeString(dir.resolve("node-id"), "garbage\n");
    assertTrue(org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class, () -> NodeIdentity.loadOrCreate(dir)).getMessage()
        .contains("does not hold a node id"));
  }
}
