package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
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

/** Per-key limits counted by the store on either database: KeyQuotasTest runs it on SQLite, KeyQuotasPostgresTest on PostgreSQL. */
abstract class KeyQuotasContract {
  private static final OptionalLong NONE = OptionalLong.empty();
  @TempDir Path dir;
  private Database db;
  private SandboxRepository sandboxes;
  private ApiKeyRepository keys;

  abstract Dialect dialect();

  @BeforeEach
  void open() throws Exception {
    db = TestStore.fresh(dialect(), dir, getClass()).open();
    new TemplateRepository(db).upsert(Rows.template("t"));
    sandboxes = new SandboxRepository(db);
    keys = new ApiKeyRepository(db);
  }

  @AfterEach
  void close() {
    db.close();
  }

  @Test
  void aKeyHoldsAtMostItsLimitAndARefusalWritesNothing() {
    keys.insert(Rows.key("alice", "USER", OptionalLong.of(2), NONE, NONE, NONE), "h-alice");
    sandboxes.insert(Rows.owned("sb-a1", "RUNNING", Rows.NOW, "", "alice"));
    sandboxes.insert(Rows.owned("sb-a2", "PAUSED", Rows.NOW, "", "alice"));
    QuotaExceededException e = assertThrows(QuotaExceededException.class, () -> sandboxes.insert(Rows.owned("sb-a3", "CREATING", Rows.NOW, "", "alice")));
    assertEquals(List.of("sandboxes", 2L, 2L, 1L), List.of(e.what(), e.limit(), e.held(), e.asked()), "a paused sandbox keeps its place");
    assertTrue(sandboxes.find("sb-a3").isEmpty());
    assertThrows(QuotaExceededException.class, () -> sandboxes.checkRoom("alice", 1, 1, 256), "the check ahead of the work agrees");
    // Other keys, rows from before owners and keys without a row are not limited by alice's.
    sandboxes.insert(Rows.owned("sb-b1", "RUNNING", Rows.NOW, "", "bob"));
    sandboxes.insert(Rows.owned("sb-x1", "RUNNING", Rows.NOW, "", ""));
    sandboxes.delete("sb-a1");
    sandboxes.insert(Rows.owned("sb-a3", "CREATING", Rows.NOW, "", "alice"));
    assertEquals("alice", sandboxes.ownerOf("sb-a3").orElseThrow());
  }

  @Test
  void aSandboxTakenOverRunningIsWrittenWholeOrNotAtAll() {
    keys.insert(Rows.key("fay", "USER", OptionalLong.of(1), NONE, NONE, NONE), "h-fay");
    EventRepository events = new EventRepository(db);
    SandboxRow running = Rows.owned("sb-f1", "CREATING", Rows.NOW, "", "fay").onVm("RUNNING", "{\"vm\":1}", 4242);
    sandboxes.insert(running, OptionalLong.of(1L << 30), Optional.of(new EventRepository.Note("created", "claimed from the warm pool")));
    SandboxListRow listed = sandboxes.findListed("sb-f1").orElseThrow();
    assertEquals(List.of("RUNNING", 4242L, 1L << 30), List.of(listed.sandbox().state(), listed.sandbox().pid().orElseThrow(), listed.rootDiskBytes().orElseThrow()));
    assertEquals(List.of("created"), events.of("sb-f1").stream().map(EventRepository.Event::kind).toList());

    SandboxRow second = Rows.owned("sb-f2", "CREATING", Rows.NOW, "", "fay").onVm("RUNNING", "{\"vm\":2}", 4243);
    assertThrows(QuotaExceededException.class,
        () -> sandboxes.insert(second, OptionalLong.of(1L << 30), Optional.of(new EventRepository.Note("created", "claimed from the warm pool"))));
    assertTrue(sandboxes.find("sb-f2").isEmpty());
    assertEquals(List.of(), events.of("sb-f2"), "a refused insert leaves no event either");
  }

  @Test
  void vcpusAndMemoryAddUpOverTheKeysSandboxesAndGrowthCounts() {
    keys.insert(Rows.key("carol", "USER", NONE, OptionalLong.of(3), OptionalLong.of(700), NONE), "h-carol");
    sandboxes.insert(Rows.owned("sb-c1", "RUNNING", Rows.NOW, "", "carol"));
    sandboxes.insert(Rows.owned("sb-c2", "RUNNING", Rows.NOW, "", "carol"));
    QuotaExceededException memory = assertThrows(QuotaExceededException.class, () -> sandboxes.insert(Rows.owned("sb-c3", "CREATING", Rows.NOW, "", "carol")));
    assertEquals("MiB of memory", memory.what());
    sandboxes.reserveSize("sb-c1", 2, 256);
    assertEquals(2, sandboxes.find("sb-c1").orElseThrow().vcpus());
    QuotaExceededException cpus = assertThrows(QuotaExceededException.class, () -> sandboxes.reserveSize("sb-c2", 2, 256));
    assertEquals("vCPUs", cpus.what());
    assertEquals(1, sandboxes.find("sb-c2").orElseThrow().vcpus(), "a refused growth is not recorded");
    sandboxes.updateSize("sb-c2", 3, 512);
    assertEquals(3, sandboxes.find("sb-c2").orElseThrow().vcpus(), "what a plug achieved is recorded whatever the limit");
  }

  @Test
  void templatesCountOnlyWhenNewAndKeepTheirOwner() {
    keys.insert(Rows.key("dave", "USER", NONE, NONE, NONE, OptionalLong.of(1)), "h-dave");
    TemplateRepository templates = new TemplateRepository(db);
    templates.upsert(owned(Rows.template("d1"), "dave"));
    templates.upsert(owned(Rows.template("d1"), "dave"));
    assertThrows(QuotaExceededException.class, () -> templates.upsert(owned(Rows.template("d2"), "dave")));
    assertTrue(templates.find("d2").isEmpty());
    templates.upsert(owned(Rows.template("d1"), ""));
    assertEquals("dave", templates.find("d1").orElseThrow().owner(), "a rebuild keeps the template's owner");
  }

  /** Creates racing for the last places: exactly the limit's worth wins, on either database. */
  @Test
  void concurrentCreatesNeverPassTheLimit() throws Exception {
    keys.insert(Rows.key("erin", "USER", OptionalLong.of(3), NONE, NONE, NONE), "h-erin");
    int racers = 8;
    CyclicBarrier start = new CyclicBarrier(racers);
    ExecutorService pool = Executors.newFixedThreadPool(racers);
    List<Future<Boolean>> results = new ArrayList<>();
    try {
      for (int i = 0; i < racers; i++) {
        String id = "sb-e" + i;
        results.add(pool.submit(() -> {
          start.await(10, TimeUnit.SECONDS);
          try {
            sandboxes.insert(Rows.owned(id, "CREATING", Rows.NOW, "", "erin"));
            return true;
          } catch (QuotaExceededException e) {
            return false;
          }
        }));
      }
      int won = 0;
      for (Future<Boolean> f : results) won += f.get(30, TimeUnit.SECONDS) ? 1 : 0;
      assertEquals(3, won);
    } finally {
      pool.shutdownNow();
    }
    assertEquals(3, sandboxes.all().stream().filter(r -> r.owner().equals("erin")).count());
  }

  @Test
  void revokedKeysAreNotFoundByHashButKeepTheirRow() {
    keys.insert(Rows.key("fay", "USER", NONE, NONE, NONE, NONE), "h-fay");
    assertTrue(keys.findActiveByHash("h-fay").isPresent());
    assertTrue(keys.revoke("fay", Rows.NOW));
    assertTrue(keys.findActiveByHash("h-fay").isEmpty());
    assertEquals(Optional.of(Rows.NOW), keys.find("fay").orElseThrow().revokedAt());
    assertEquals(false, keys.revoke("fay", Rows.NOW), "a second revocation changes nothing");
  }

  private static TemplateRow owned(TemplateRow r, String owner) {
    return new TemplateRow(r.name(), r.status(), r.source(), r.rootfsPath(), r.rootfsBytes(), r.error(), r.createdAt(), r.updatedAt(), r.imageDigest(),
        r.configJson(), r.freeSpaceMib(), r.machine(), owner);
  }
}
