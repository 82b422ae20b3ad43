package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SandboxRepository} on either database: SandboxRepositoryTest runs it on SQLite, SandboxRepositoryPostgresTest on PostgreSQL. */
abstract class SandboxRepositoryContract {
  @TempDir Path dir;
  private Database db;
  private SandboxRepository sandboxes;

  abstract Dialect dialect();

  @BeforeEach
  void open() throws Exception {
    db = TestStore.fresh(dialect(), dir, getClass()).open();
    new TemplateRepository(db).upsert(Rows.template("t"));
    sandboxes = new SandboxRepository(db);
  }

  @AfterEach
  void close() {
    db.close();
  }

  private static SandboxRepository.StateChange change(String from, String to) {
    return new SandboxRepository.StateChange(from, to, Optional.of("{}"), OptionalLong.empty(), Optional.empty(), SandboxRepository.ExpiryChange.KEEP,
        Optional.empty());
  }

  private boolean cas(String id, String from, String to) {
    return sandboxes.transition(id, change(from, to));
  }

  /**
   * A live migration's commit and the source's take-back race on the row's version (docs/adr/0019):
   * whichever moves it first wins, so the sandbox never runs on both nodes.
   */
  @Test
  void aMigrationCommitsOnlyAtItsVersionAndATakeBackFirstMakesItFail() {
    NetworkRepository networks = new NetworkRepository(db);
    sandboxes.insert(Rows.sandboxOn("sb-m", "RUNNING", Rows.NOW, "nd-a"));
    networks.insert(new NetworkRow("sb-m", 3, "{}", Optional.of("tok"), "[{\"hostPort\":2222}]"));
    long v = sandboxes.findListed("sb-m").orElseThrow().version();
    assertTrue(sandboxes.keepFromMigration("sb-m", "nd-a", v, "the target's QEMU died"));
    assertFalse(sandboxes.migrateTo("sb-m", "nd-a", v, "nd-b", "{\"vm\":2}", 7, Optional.of(new NetworkRow("sb-m", 9, "{}", Optional.of("tok"), "[]")), "late"),
        "a commit at the version the source has moved past loses");
    assertEquals("nd-a", sandboxes.find("sb-m").orElseThrow().nodeId());
    assertEquals(3, networks.find("sb-m").orElseThrow().slot(), "the source's network row stays");

    long v2 = sandboxes.findListed("sb-m").orElseThrow().version();
    assertTrue(sandboxes.migrateTo("sb-m", "nd-a", v2, "nd-b", "{\"vm\":2}", 7,
        Optional.of(new NetworkRow("sb-m", 9, "{}", Optional.of("tok"), "[{\"hostPort\":2222}]")), "moved"));
    SandboxRow moved = sandboxes.find("sb-m").orElseThrow();
    assertEquals("nd-b", moved.nodeId());
    assertEquals(7, moved.pid().getAsLong());
    assertEquals(Optional.of("{\"vm\":2}"), moved.vmJson());
    NetworkRow net = networks.find("sb-m").orElseThrow();
    assertEquals(9, net.slot(), "the network row is the target's slot");
    assertEquals(Optional.of("tok"), net.accessToken());
    assertEquals(List.of("sb-m"), networks.allOn("nd-b").stream().map(NetworkRow::sandboxId).toList());
    assertFalse(sandboxes.keepFromMigration("sb-m", "nd-a", v2, "too late"), "the source cannot take back what the target committed");
    assertFalse(sandboxes.migrateTo("sb-m", "nd-a", v2, "nd-c", "{}", 8, Optional.empty(), "again"), "nor can the same commit win twice");
  }

  @Test
  void theDatabaseRefusesAStateOutsideTheLifecycle() {
    assertThrows(StoreException.class, () -> sandboxes.insert(Rows.sandbox("sb-a", "running", Rows.NOW)), "states are stored as enum names");
    sandboxes.insert(Rows.sandbox("sb-a", "RUNNING", Rows.NOW));
    StoreException e = assertThrows(StoreException.class, () -> cas("sb-a", "RUNNING", "DELETED"));
    assertTrue(e.getMessage().contains("sandboxes_state"), "the constraint that refused it is named: " + e.getMessage());
    assertThrows(StoreException.class, () -> cas("sb-a", "RUNNING", "BOOTING"));
    assertEquals("RUNNING", sandboxes.find("sb-a").orElseThrow().state(), "a refused change leaves the row as it was");
  }

  @Test
  void compareAndSetMovesOnlyFromTheExpectedState() {
    sandboxes.insert(Rows.sandbox("sb-a", "RUNNING", Rows.NOW));
    assertFalse(cas("sb-a", "PAUSED", "RUNNING"), "not paused: no move");
    assertFalse(cas("sb-nope", "RUNNING", "PAUSED"), "no row: no move");
    assertEquals(0, sandboxes.findListed("sb-a").orElseThrow().version());

    assertTrue(sandboxes.transition("sb-a", new SandboxRepository.StateChange("RUNNING", "STOPPED", Optional.of("{\"vm\":2}"), OptionalLong.empty(), Optional.of("why"), SandboxRepository.ExpiryChange.KEEP, Optional.empty())));
    SandboxRow r = sandboxes.find("sb-a").orElseThrow();
    assertEquals(List.of("STOPPED", "{\"vm\":2}", "why"), List.of(r.state(), r.vmJson().orElseThrow(), r.error().orElseThrow()));
    assertTrue(r.pid().isEmpty(), "the pid is cleared with the VM gone");
    assertTrue(cas("sb-a", "STOPPED", "RUNNING"));
    assertEquals(2, sandboxes.findListed("sb-a").orElseThrow().version(), "every state change bumps the version, so RUNNING again is not the RUNNING read before");
  }

  @Test
  void aStateChangeAndItsEventCommitTogetherOrNotAtAll() {
    EventRepository events = new EventRepository(db);
    sandboxes.insert(Rows.sandbox("sb-a", "RUNNING", Rows.NOW));
    assertTrue(sandboxes.transition("sb-a", change("RUNNING", "PAUSED").withEvent("paused", "state saved")));
    assertFalse(sandboxes.transition("sb-a", change("RUNNING", "STOPPED").withEvent("stopped", "lost the race")));
    assertEquals(List.of("paused"), events.of("sb-a").stream().map(EventRepository.Event::kind).toList(), "a move that lost tells nothing");

    new TombstoneRepository(db).bury(new TombstoneRow("sb-a", "t", "DELETED", Rows.NOW, Rows.NOW.plusSeconds(5), Optional.empty(), 300,
        Rows.NOW.plusSeconds(60)), new EventRepository.Note("deleted", "by request"));
    assertEquals(List.of("paused", "deleted"), events.of("sb-a").stream().map(EventRepository.Event::kind).toList());
    assertTrue(sandboxes.find("sb-a").isEmpty());

    // A delete that a restart ran again buries the id a second time: the newer tombstone replaces the first.
    new TombstoneRepository(db).bury(new TombstoneRow("sb-a", "t", "EXPIRED", Rows.NOW, Rows.NOW.plusSeconds(9), Optional.of(Rows.NOW.plusSeconds(8)), 300,
        Rows.NOW.plusSeconds(90)), new EventRepository.Note("expired", "TTL ran out"));
    TombstoneRow t = new TombstoneRepository(db).find("sb-a").orElseThrow();
    assertEquals(List.of("EXPIRED", Rows.NOW.plusSeconds(90)), List.of(t.reason(), t.purgeAt()));
  }

  @Test
  void ofTwoThreadsMovingTheSameStateExactlyOneWins() throws Exception {
    sandboxes.insert(Rows.sandbox("sb-a", "RUNNING", Rows.NOW));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 50; round++) {
        CyclicBarrier start = new CyclicBarrier(2);
        Future<Boolean> pause = pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          return cas("sb-a", "RUNNING", "PAUSED");
        });
        Future<Boolean> stop = pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          return cas("sb-a", "RUNNING", "STOPPING");
        });
        boolean paused = pause.get(10, TimeUnit.SECONDS);
        boolean stopped = stop.get(10, TimeUnit.SECONDS);
        assertTrue(paused ^ stopped, "round " + round + ": exactly one of pause (" + paused + ") and stop (" + stopped + ") wins");
        assertEquals(paused ? "PAUSED" : "STOPPING", sandboxes.find("sb-a").orElseThrow().state());
        assertTrue(cas("sb-a", paused ? "PAUSED" : "STOPPING", "RUNNING"));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theListIsWhatTheRowByRowPathRead() {
    NetworkRepository networks = new NetworkRepository(db);
    sandboxes.insert(Rows.sandbox("sb-a", "RUNNING", Rows.NOW));
    sandboxes.insert(Rows.sandbox("sb-b", "PAUSED", Rows.NOW.plusSeconds(1)));
    sandboxes.insert(Rows.sandbox("sb-c", "ERROR", Rows.NOW.plusSeconds(2)));
    networks.insert(new NetworkRow("sb-a", 7, "{\"mode\":\"isolated\"}", Optional.of("tok"), "[{\"guestPort\":80}]"));
    networks.insert(new NetworkRow("sb-c", 8, "{\"mode\":\"open\"}", Optional.empty(), "[]"));
    sandboxes.recordRootDiskBytes("sb-b", 3L << 30);

    List<SandboxListRow> listed = sandboxes.list();
    List<SandboxRow> rowByRow = sandboxes.all();
    List<Optional<NetworkRow>> networksRowByRow = new ArrayList<>();
    for (SandboxRow r : rowByRow) networksRowByRow.add(networks.find(r.id()));
    assertEquals(rowByRow, listed.stream().map(SandboxListRow::sandbox).toList());
    assertEquals(networksRowByRow, listed.stream().map(SandboxListRow::network).toList());
    assertEquals(List.of(OptionalLong.empty(), OptionalLong.of(3L << 30), OptionalLong.empty()), listed.stream().map(SandboxListRow::rootDiskBytes).toList());
    assertEquals(listed.get(2), sandboxes.findListed("sb-c").orElseThrow());
    assertTrue(sandboxes.findListed("sb-nope").isEmpty());
  }
}
