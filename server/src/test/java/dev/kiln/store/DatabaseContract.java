package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Database} and the repositories' transactions on either database: DatabaseTest runs it on SQLite, DatabasePostgresTest on PostgreSQL. */
abstract class DatabaseContract {
  @TempDir Path dir;
  private TestStore store;

  abstract Dialect dialect();

  @BeforeEach
  void makeStore() throws Exception {
    store = TestStore.fresh(dialect(), dir, getClass());
  }

  @Test
  void migratesOnceAndKeepsRowsAcrossReopen() throws Exception {
    Instant now = Instant.ofEpochMilli(1_700_000_000_000L);
    try (Database db = store.open()) {
      new TemplateRepository(db).upsert(new TemplateRow("t", "READY", "dir:/x", Optional.of("/x.ext4"), OptionalLong.of(10), Optional.empty(), now, now,
          Optional.of("sha256:" + "a".repeat(64)), Optional.of("{}"), 256, "MICROVM", ""));
      new SandboxRepository(db).insert(new SandboxRow("sb-aaaaaaaaaaaaaaaa", "t", "RUNNING", 1, 256, 300, "{}", "{}", Optional.of("{}"),
          OptionalLong.of(42), Optional.empty(), now, Optional.of(now.plusSeconds(300)), "DELETE", "", ""));
    }
    try (Database db = store.open()) {
      SandboxRow r = new SandboxRepository(db).find("sb-aaaaaaaaaaaaaaaa").orElseThrow();
      assertEquals(42, r.pid().getAsLong());
      assertEquals(now.plusSeconds(300), r.expiresAt().orElseThrow());
      TemplateRepository templates = new TemplateRepository(db);
      assertTrue(templates.inUse("t"));
      assertEquals("t", templates.findReadyByImage("sha256:" + "a".repeat(64), 256).orElseThrow().name(), "a built digest is found again");
      assertTrue(templates.findReadyByImage("sha256:" + "a".repeat(64), 512).isEmpty(), "other free space, other image");
      assertFalse(templates.deleteIfUnused("t"), "a template in use must not be deleted");
      new SandboxRepository(db).delete(r.id());
      assertTrue(templates.deleteIfUnused("t"));
    }
  }

  @Test
  void aTombstoneKeepsTheEventsUntilItIsPurged() throws Exception {
    Instant now = Instant.ofEpochMilli(1_700_000_000_000L);
    try (Database db = store.open()) {
      new TemplateRepository(db).upsert(new TemplateRow("t", "READY", "dir:/x", Optional.of("/x.ext4"), OptionalLong.of(10), Optional.empty(), now, now,
          Optional.empty(), Optional.of("{}"), 256, "MICROVM", ""));
      SandboxRepository sandboxes = new SandboxRepository(db);
      EventRepository events = new EventRepository(db);
      TombstoneRepository tombstones = new TombstoneRepository(db);
      for (String id : new String[] {"sb-aaaaaaaaaaaaaaaa", "sb-bbbbbbbbbbbbbbbb"}) {
        sandboxes.insert(new SandboxRow(id, "t", "RUNNING", 1, 256, 600, "{}", "{}", Optional.empty(), OptionalLong.empty(), Optional.empty(), now,
            Optional.of(now.plusSeconds(600)), "DELETE", "", ""));
        events.append(id, "created", "booted");
      }
      tombstones.bury(new TombstoneRow("sb-aaaaaaaaaaaaaaaa", "t", "EXPIRED", now, now.plusSeconds(600), Optional.of(now.plusSeconds(600)), 600,
          now.plusSeconds(700)), new EventRepository.Note("expired", "TTL ran out"));
      assertTrue(sandboxes.find("sb-aaaaaaaaaaaaaaaa").isEmpty(), "the sandbox row is gone");
      assertEquals(List.of("created", "expired"), events.of("sb-aaaaaaaaaaaaaaaa").stream().map(EventRepository.Event::kind).toList());
      TombstoneRow t = tombstones.find("sb-aaaaaaaaaaaaaaaa").orElseThrow();
      assertEquals(now.plusSeconds(600), t.expiredAt().orElseThrow());
      assertEquals(600, t.timeoutSeconds());

      assertEquals(0, tombstones.purge(now.plusSeconds(699)), "not due yet");
      assertEquals(1, tombstones.purge(now.plusSeconds(700)));
      assertTrue(tombstones.find("sb-aaaaaaaaaaaaaaaa").isEmpty());
      assertEquals(List.of(), events.of("sb-aaaaaaaaaaaaaaaa"), "its events go with the tombstone");

      sandboxes.delete("sb-bbbbbbbbbbbbbbbb");
      assertEquals(List.of(), events.of("sb-bbbbbbbbbbbbbbbb"), "a sandbox deleted without a tombstone takes its events with it");
    }
  }

  @Test
  void aReadIsAnsweredWhileAWriteTransactionIsOpen() throws Exception {
    try (Database db = store.open()) {
      new TemplateRepository(db).upsert(Rows.template("t"));
      SandboxRepository sandboxes = new SandboxRepository(db);
      sandboxes.insert(Rows.sandbox("sb-a", "RUNNING", Rows.NOW));
      CountDownLatch open = new CountDownLatch(1);
      CountDownLatch release = new CountDownLatch(1);
      ExecutorService writer = Executors.newSingleThreadExecutor();
      try {
        Future<?> tx = writer.submit(() -> db.inTransaction(c -> {
          c.createStatement().executeUpdate("UPDATE sandboxes SET state = 'PAUSED' WHERE id = 'sb-a'");
          open.countDown();
          try {
            release.await();
          } catch (InterruptedException e) {
            throw new java.sql.SQLException("interrupted while held open", e);
          }
          return null;
        }));
        assertTrue(open.await(10, TimeUnit.SECONDS), "the write transaction is open");
        // Held open: the single-connection store waited here for the writer; the read pool answers at once, from the last commit.
        List<SandboxRow> seen = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> sandboxes.all());
        assertEquals(List.of("RUNNING"), seen.stream().map(SandboxRow::state).toList(), "a reader sees the last commit, not the open transaction");
        assertEquals(1, assertTimeoutPreemptively(Duration.ofSeconds(10), () -> sandboxes.list()).size());
        release.countDown();
        tx.get(10, TimeUnit.SECONDS);
      } finally {
        release.countDown();
        writer.shutdownNow();
      }
      assertEquals("PAUSED", sandboxes.find("sb-a").orElseThrow().state(), "committed, the write is seen");
    }
  }

  /**
   * inTransaction's promise: a read-modify-write stays whole, no other write comes between its read
   * and its write. SQLite keeps it with one writer. PostgreSQL has several, and keeps it because
   * each transaction is SERIALIZABLE and one that lost is run again: at PostgreSQL's default, READ
   * COMMITTED, two transactions read the same value and one increment is lost (this test then fails).
   */
  @Test
  void concurrentReadModifyWritesLoseNoUpdate() throws Exception {
    int threads = 3, each = 15;
    try (Database db = store.open()) {
      new TemplateRepository(db).upsert(Rows.template("t"));
      new PoolRepository(db).upsert(new PoolRepository.PoolRow("t", 0, 0));
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CyclicBarrier start = new CyclicBarrier(threads);
        List<Future<?>> writers = new java.util.ArrayList<>();
        for (int t = 0; t < threads; t++) {
          writers.add(pool.submit(() -> {
            start.await(10, TimeUnit.SECONDS);
            for (int i = 0; i < each; i++) {
              db.inTransaction(c -> {
                int read;
                try (var q = c.createStatement(); var rs = q.executeQuery("SELECT max_ready FROM pools WHERE template = 't'")) {
                  rs.next();
                  read = rs.getInt(1);
                }
                try (var u = c.prepareStatement("UPDATE pools SET max_ready = ? WHERE template = 't'")) {
                  u.setInt(1, read + 1);
                  return u.executeUpdate();
                }
              });
            }
            return null;
          }));
        }
        for (Future<?> w : writers) w.get(60, TimeUnit.SECONDS);
      } finally {
        pool.shutdownNow();
      }
      assertEquals(threads * each, new PoolRepository(db).all().getFirst().maxReady(), "every increment counted");
    }
  }

  @Test
  void aTransactionInsideATransactionIsRefused() throws Exception {
    try (Database db = store.open()) {
      ApiKeyRepository keys = new ApiKeyRepository(db);
      assertThrows(IllegalStateException.class, () -> db.inTransaction(c -> {
        keys.insert(new ApiKeyRow("k", "n", "USER", "kiln_0", Rows.NOW, java.util.Optional.empty(), OptionalLong.empty(), OptionalLong.empty(),
            OptionalLong.empty(), OptionalLong.empty()), "h");
        return null;
      }));
      assertThrows(IllegalStateException.class, () -> db.inTransaction(c -> keys.countActive()), "a read beside its own write would not see it");
      assertEquals(0, keys.countActive());
    }
  }

  @Test
  void failedTransactionLeavesNothing() throws Exception {
    try (Database db = store.open()) {
      try {
        db.inTransaction(c -> {
          c.createStatement().execute("INSERT INTO api_keys (id, sha256, name, created_at) VALUES ('a', 'h', 'n', 1)");
          throw new java.sql.SQLException("boom");
        });
      } catch (StoreException expected) {
        // rolled back
      }
      assertEquals(0, new ApiKeyRepository(db).countActive());
    }
  }
}
