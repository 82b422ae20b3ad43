package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LeaseRepository} and {@link NodeRepository} on either database (ClusterRepositoriesTest on
 * SQLite, ClusterRepositoriesPostgresTest on PostgreSQL): one holder per lease, even when daemons
 * ask at the same instant; a heartbeat and a liveness check never undo each other.
 */
abstract class ClusterRepositoriesContract {
  private static final Instant T0 = Instant.parse("2026-12-05T00:00:00Z");
  private static final Duration TTL = Duration.ofSeconds(10);
  @TempDir Path dir;
  private Database db;
  private LeaseRepository leases;
  private NodeRepository nodes;

  abstract Dialect dialect();

  @BeforeEach
  void open() throws Exception {
    db = TestStore.fresh(dialect(), dir, getClass()).open();
    leases = new LeaseRepository(db);
    nodes = new NodeRepository(db);
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void aLeaseHasOneHolderUntilItExpiresOrIsReleased() {
    assertTrue(leases.acquire("job", "a", T0, TTL));
    assertFalse(leases.acquire("job", "b", T0.plusSeconds(5), TTL), "held by a until T0+10");
    assertTrue(leases.acquire("job", "a", T0.plusSeconds(5), TTL), "its holder renews it");
    assertFalse(leases.acquire("job", "b", T0.plusSeconds(14), TTL), "renewed at T0+5: held until T0+15");
    assertTrue(leases.acquire("job", "b", T0.plusSeconds(16), TTL), "expired: another takes it");
    assertEquals(Optional.of("b"), holder("job", T0.plusSeconds(16)));
    leases.release("job", "a");
    assertEquals(Optional.of("b"), holder("job", T0.plusSeconds(16)), "only the holder releases it");
    leases.release("job", "b");
    assertTrue(leases.acquire("job", "a", T0.plusSeconds(17), TTL), "released: free at once");
    assertTrue(leases.acquire("other", "b", T0.plusSeconds(17), TTL), "leases are per job");
  }

  @Test
  void ofEightDaemonsAskingAtOnceExactlyOneLeads() throws Exception {
    for (int round = 0; round < 5; round++) {
      String job = "job-" + round;
      CyclicBarrier start = new CyclicBarrier(8);
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<Boolean>> asked = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          String holder = "d" + i;
          asked.add(pool.submit(() -> {
            start.await();
            return leases.acquire(job, holder, T0, TTL);
          }));
        }
        int won = 0;
        for (Future<Boolean> f : asked) if (f.get()) won++;
        assertEquals(1, won, "round " + round);
      } finally {
        pool.shutdownNow();
      }
    }
  }

  private Optional<String> holder(String job, Instant at) {
    return leases.held(at).stream().filter(l -> l.name().equals(job)).map(LeaseRepository.Lease::holder).findFirst();
  }

  private static NodeRow node(String id, Instant heartbeat) {
    return new NodeRow(id, "host-" + id, "http://10.0.0.1:7788", "COMBINED", "UP", false, "{}", heartbeat, heartbeat, Optional.empty(), Optional.of("kn_" + "0".repeat(64)), Optional.empty(), "{\"zone\":\"a\"}");
  }

  @Test
  void silentNodesAreMarkedDownAndAHeartbeatBringsThemBack() {
    nodes.register(node("nd-a", T0));
    nodes.register(node("nd-b", T0.plusSeconds(20)));
    assertTrue(nodes.setCordoned("nd-a", true));
    assertEquals(List.of("nd-a"), nodes.markDownIfSilentSince(T0.plusSeconds(10), "no heartbeat for 10 s"));
    assertEquals(List.of(), nodes.markDownIfSilentSince(T0.plusSeconds(10), "again"), "already down: nothing to mark");
    NodeRow a = nodes.find("nd-a").orElseThrow();
    assertEquals("DOWN", a.state());
    assertEquals(Optional.of("no heartbeat for 10 s"), a.downReason());
    assertTrue(nodes.heartbeat("nd-a", "{\"vcpus\":2}", T0.plusSeconds(30)));
    a = nodes.find("nd-a").orElseThrow();
    assertEquals("UP", a.state());
    assertEquals(Optional.empty(), a.downReason());
    assertTrue(a.cordoned(), "a heartbeat leaves the cordon alone");
    nodes.register(node("nd-a", T0.plusSeconds(40)));
    assertTrue(nodes.find("nd-a").orElseThrow().cordoned(), "so does a restart");
    assertFalse(nodes.heartbeat("nd-gone", "{}", T0), "a node without a row is told to register");
    assertFalse(nodes.setCordoned("nd-gone", true));
    assertEquals(List.of("nd-a", "nd-b"), nodes.all().stream().map(NodeRow::id).toList());
  }
}
