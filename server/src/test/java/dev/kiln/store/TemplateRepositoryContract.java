package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TemplateRepository}'s record of each template's current snapshots on either database
 * (TemplateRepositoryTest on SQLite, TemplateRepositoryPostgresTest on PostgreSQL): switched only
 * from the one the caller read, so of two nodes replacing the same snapshot exactly one does.
 */
abstract class TemplateRepositoryContract {
  @TempDir Path dir;
  private Database db;
  private TemplateRepository templates;

  abstract Dialect dialect();

  @BeforeEach
  void open() throws Exception {
    db = TestStore.fresh(dialect(), dir, getClass()).open();
    templates = new TemplateRepository(db);
  }

  @AfterEach
  void close() {
    db.close();
  }

  private static TemplateSnapshotIds ids(String plain, String network) {
    return new TemplateSnapshotIds(Optional.ofNullable(plain), Optional.ofNullable(network));
  }

  @Test
  void versionsAreNumberedPerNameAndPrunedOnlyWhenNotLatestNotPinnedAndUnused() {
    assertEquals(1, templates.upsertBuilt(Rows.template("t")));
    assertEquals(2, templates.upsertBuilt(Rows.template("t")));
    assertEquals(1, templates.upsertBuilt(Rows.template("u")), "numbered per name");
    assertEquals(3, templates.upsertBuilt(Rows.template("t")));
    assertEquals(3, templates.version("t", 0).orElseThrow().version(), "0 asks for the latest");
    assertEquals(Map.of("t", 3, "u", 1), templates.latestVersions());
    SandboxRepository sandboxes = new SandboxRepository(db);
    SandboxRow s = Rows.sandbox("sb-1", "RUNNING", Rows.NOW);
    sandboxes.insert(new SandboxRow(s.id(), "t", s.state(), s.vcpus(), s.memoryMib(), s.timeoutSeconds(), s.envJson(), s.metadataJson(), s.vmJson(),
        s.pid(), s.error(), s.createdAt(), s.expiresAt(), s.onTimeout(), s.nodeId(), s.owner(), 1));
    assertEquals("t:1", sandboxes.find("sb-1").orElseThrow().templateRef());
    assertTrue(templates.pin("t", 2, true));
    assertFalse(templates.pin("t", 9, true), "no such version");
    assertEquals(0, templates.pruneVersions(), "1 is used, 2 pinned, 3 the latest");
    sandboxes.delete("sb-1");
    assertEquals(1, templates.pruneVersions());
    assertTrue(templates.pin("t", 2, false));
    assertEquals(1, templates.pruneVersions());
    assertEquals(java.util.List.of(3), templates.versions("t").stream().map(TemplateRepository.Version::version).toList());
    assertTrue(templates.deleteIfUnused("t"));
    assertEquals(java.util.List.of(), templates.versions("t"), "a template's versions go with it");
  }

  @Test
  void theCurrentSnapshotMovesOnlyFromTheOneTheCallerRead() {
    templates.upsert(Rows.template("t"));
    templates.upsert(Rows.template("u"));
    assertEquals(Optional.of(TemplateSnapshotIds.NONE), templates.snapshots("t"));
    assertFalse(templates.switchSnapshot("t", false, Optional.of("s0"), "s1"), "none is recorded yet");
    assertTrue(templates.switchSnapshot("t", false, Optional.empty(), "s1"));
    assertFalse(templates.switchSnapshot("t", false, Optional.empty(), "s2"), "s1 is recorded now");
    assertFalse(templates.switchSnapshot("t", false, Optional.of("s0"), "s2"));
    assertTrue(templates.switchSnapshot("t", true, Optional.empty(), "n1"), "the variant with a network device is a column of its own");
    assertTrue(templates.switchSnapshot("t", false, Optional.of("s1"), "s2"));
    assertEquals(Optional.of(ids("s2", "n1")), templates.snapshots("t"));
    assertFalse(templates.switchSnapshot("nope", false, Optional.empty(), "s1"), "no such template");
    assertEquals(Optional.empty(), templates.snapshots("nope"));
    assertEquals(Map.of("t", ids("s2", "n1"), "u", TemplateSnapshotIds.NONE), templates.allSnapshots());
  }

  @Test
  void aRebuildKeepsTheSnapshotsAndADeleteTakesThemWithTheRow() {
    templates.upsert(Rows.template("t"));
    assertTrue(templates.switchSnapshot("t", false, Optional.empty(), "s1"));
    templates.upsert(Rows.template("t")); // a rebuild: the snapshot tells by its image id whether it is still good
    assertEquals(Optional.of(ids("s1", null)), templates.snapshots("t"));
    assertTrue(templates.deleteIfUnused("t"));
    templates.upsert(Rows.template("t"));
    assertEquals(Optional.of(TemplateSnapshotIds.NONE), templates.snapshots("t"), "a template made again under the name has none");
  }

  @Test
  void ofTwoNodesReplacingTheSameSnapshotExactlyOneWins() throws Exception {
    templates.upsert(Rows.template("t"));
    assertTrue(templates.switchSnapshot("t", false, Optional.empty(), "s0"));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      String current = "s0";
      for (int round = 1; round <= 50; round++) {
        CyclicBarrier start = new CyclicBarrier(2);
        String read = current;
        String a = "a" + round;
        String b = "b" + round;
        Future<Boolean> onA = pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          return templates.switchSnapshot("t", false, Optional.of(read), a);
        });
        Future<Boolean> onB = pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          return templates.switchSnapshot("t", false, Optional.of(read), b);
        });
        boolean aWon = onA.get(10, TimeUnit.SECONDS);
        boolean bWon = onB.get(10, TimeUnit.SECONDS);
        assertTrue(aWon ^ bWon, "round " + round + ": exactly one of a (" + aWon + ") and b (" + bWon + ") wins");
        current = aWon ? a : b;
        assertEquals(Optional.of(current), templates.snapshots("t").orElseThrow().plain());
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
