package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.sqlite.SQLiteDataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MigrationsTest {
  /** A time past 2^32 seconds and far past 2^31 milliseconds: it must come back whole. */
  private static final long LATE = 4_398_046_511_104_000L;
  @TempDir Path dir;

  /**
   * The history entries of the common scripts after {@code version} ("8 SQL", …), read from the
   * folder: a new migration needs no edit here.
   */
  static List<String> commonScriptsAfter(int version) throws Exception {
    try (var files = java.nio.file.Files.list(Path.of(MigrationsTest.class.getResource("/db/migration/common").toURI()))) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.matches("V\\d+__.*\\.sql"))
          .map(n -> Integer.parseInt(n.substring(1, n.indexOf("__")))).filter(v -> v > version).sorted().map(v -> v + " SQL").toList();
    }
  }

  private static List<String> plus(List<String> head, List<String> tail) {
    List<String> all = new java.util.ArrayList<>(head);
    all.addAll(tail);
    return all;
  }

  @Test
  void aNewFileIsMadeFromTheBaseline() throws Exception {
    try (Database db = Database.open(dir.resolve("k.db"))) {
      assertEquals(plus(List.of("7 SQL_BASELINE"), commonScriptsAfter(7)), history(db), "a new file gets the schema of 7 in one script, as a PostgreSQL database does, then what came after");
      assertFalse(tableExists(db, "schema_version"), "no table of the old migrator in a new file");
      assertEquals(List.of("sandboxes"), db.read(c -> strings(c, "SELECT \"table\" FROM pragma_foreign_key_list('checkpoints')")));
    }
  }

  /**
   * A file the daemon made before the baseline existed: V1-V8 applied one by one from
   * db/migration/sqlite, their checksums in its history. Written by the store of main at 5d69672,
   * as store/README.md in the test resources says, and committed as it came. It must open with its
   * history untouched (Flyway re-checks the eight checksums; V8 has since moved to the common
   * folder, and Flyway matches a recorded script by version, description, type and checksum, not
   * by folder), its rows as they were, and take new writes.
   */
  @Test
  void aFileMigratedScriptByScriptBeforeTheBaselineStillOpens() throws Exception {
    Path file = fixture();
    try (Database db = Database.open(file)) {
      assertEquals(plus(List.of("1 SQL", "2 SQL", "3 SQL", "4 SQL", "5 SQL", "6 SQL", "7 SQL", "8 SQL"), commonScriptsAfter(8)), history(db),
          "nothing re-applied; only what came after 8 applied");
      SandboxRepository sandboxes = new SandboxRepository(db);
      SandboxListRow a = sandboxes.findListed("sb-aaaaaaaaaaaaaaaa").orElseThrow();
      assertEquals(List.of("PAUSED", 1L, OptionalLong.of(3L << 30), 3), List.of(a.sandbox().state(), a.version(), a.rootDiskBytes(), a.network().orElseThrow().slot()));
      assertEquals(Optional.of(Instant.ofEpochMilli(LATE)), a.sandbox().expiresAt());
      TemplateRow t = new TemplateRepository(db).find("t").orElseThrow();
      assertEquals(List.of(OptionalLong.of(5L << 30), "Q35"), List.of(t.rootfsBytes(), t.machine()));
      assertEquals(List.of("before"), new CheckpointRepository(db).ofSandbox("sb-aaaaaaaaaaaaaaaa").stream().map(CheckpointRow::name).toList());
      assertEquals(Instant.ofEpochMilli(LATE), new TombstoneRepository(db).find("sb-cccccccccccccccc").orElseThrow().purgeAt());
      EventRepository events = new EventRepository(db);
      assertEquals(List.of("created", "expired"), events.of("sb-cccccccccccccccc").stream().map(EventRepository.Event::kind).toList());
      // A key from before roles could do everything: it stays an admin.
      assertEquals("ADMIN", new ApiKeyRepository(db).findActiveByHash("hash1").orElseThrow().role());
      assertEquals(List.of(new PoolRepository.PoolRow("t", 1, 3)), new PoolRepository(db).all());

      assertTrue(sandboxes.transition("sb-aaaaaaaaaaaaaaaa", new SandboxRepository.StateChange("PAUSED", "RUNNING", Optional.empty(), OptionalLong.of(7),
          Optional.empty(), SandboxRepository.ExpiryChange.KEEP, Optional.empty()).withEvent("resumed", "restored")));
      List<EventRepository.Event> seen = events.of("sb-aaaaaaaaaaaaaaaa");
      assertEquals(List.of(1L, 2L, 6L), seen.stream().map(EventRepository.Event::seq).toList(), "the sequence goes on after the file's last event");
    }
  }

  /** The baseline and V8 make what V1-V8 made: the same tables, columns (type affinity, NOT NULL, default, key), indexes and foreign keys. */
  @Test
  void theBaselineMakesTheSchemaTheSqliteScriptsMade() throws Exception {
    try (Database scripted = Database.open(fixture()); Database fresh = Database.open(dir.resolve("new.db"))) {
      String old = scripted.read(MigrationsTest::sqliteSchema);
      assertEquals(old, fresh.read(MigrationsTest::sqliteSchema));
      assertTrue(old.contains("sandbox_events.seq INTEGER notnull=0 default=null pk=1"), old);
    }
  }

  /**
   * The SQLite folder is history: a script added there would never reach a PostgreSQL database.
   * New scripts go to the common folder, numbered after the baseline.
   */
  @Test
  void newScriptsGoToTheCommonFolder() throws Exception {
    assertEquals(List.of("V1__init.sql", "V2__template_images.sql", "V3__on_timeout.sql", "V4__checkpoints_events_pools.sql", "V5__networks.sql",
        "V6__tombstones.sql", "V7__sandbox_state_check.sql"), scripts("sqlite"), "db/migration/sqlite is closed at V7; put the script in db/migration/common");
    for (String script : scripts("common")) {
      assertTrue(script.equals("B7__schema.sql") || Integer.parseInt(script.replaceAll("^V(\\d+)__.*", "$1")) > 7, script);
    }
  }

  private static List<String> scripts(String folder) throws Exception {
    try (var files = Files.list(Path.of(MigrationsTest.class.getResource("/db/migration/" + folder).toURI()))) {
      return files.map(f -> f.getFileName().toString()).sorted().toList();
    }
  }

  /** A description of a SQLite schema that two equal schemas made by different DDL share. */
  static String sqliteSchema(Connection c) throws SQLException {
    StringBuilder out = new StringBuilder();
    for (String table : strings(c, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'flyway_schema_history' ORDER BY name")) {
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('" + table + "')")) {
        while (rs.next()) {
          String type = rs.getString(2).toUpperCase(java.util.Locale.ROOT);
          // Column affinity (SQLite's rule 1): BIGINT and INTEGER are the same 64-bit integer column.
          String affinity = type.contains("INT") ? "INTEGER" : type;
          out.append(table).append('.').append(rs.getString(1)).append(' ').append(affinity).append(" notnull=").append(rs.getInt(3))
              .append(" default=").append(rs.getString(4)).append(" pk=").append(rs.getInt(5)).append('\n');
        }
      }
      for (String fk : strings(c, "SELECT \"from\" || '->' || \"table\" || '.' || \"to\" || ' ' || on_delete FROM pragma_foreign_key_list('" + table + "') ORDER BY 1")) {
        out.append(table).append(" fk ").append(fk).append('\n');
      }
      // Index names: a UNIQUE or PRIMARY KEY gets one SQLite makes up, so they are described by their columns.
      for (String index : strings(c, "SELECT name FROM pragma_index_list('" + table + "')")) {
        String columns = String.join(",", strings(c, "SELECT name FROM pragma_index_info('" + index + "') ORDER BY seqno"));
        String unique = strings(c, "SELECT \"unique\" || ' ' || origin FROM pragma_index_list('" + table + "') WHERE name = '" + index + "'").getFirst();
        out.append(table).append(" index ").append(index.startsWith("sqlite_autoindex_") ? "auto" : index).append(" (").append(columns).append(") ")
            .append(unique).append('\n');
      }
    }
    return String.join("\n", out.toString().lines().sorted().toList());
  }

  private Path fixture() throws Exception {
    Path file = dir.resolve("before-baseline.db");
    try (InputStream in = MigrationsTest.class.getResourceAsStream("/store/kiln-v8-scripts-before-baseline.db")) {
      Files.copy(in, file);
    }
    return file;
  }

  @Test
  void aFileOfTheOldMigratorIsTakenOverWithAllItsRows() throws Exception {
    Path file = dir.resolve("k.db");
    try (Connection c = OldMigratorFile.create(file, 6); Statement s = c.createStatement()) {
      s.execute("INSERT INTO templates (name, status, source, rootfs_path, rootfs_bytes, created_at, updated_at, image_digest, config_json, free_space_mib) "
          + "VALUES ('t', 'READY', 'dir:/x', '/x.ext4', 10, 1, " + LATE + ", 'sha256:d', '{}', 256)");
      s.execute("INSERT INTO sandboxes (id, template, state, vcpus, memory_mib, timeout_seconds, env_json, metadata_json, vm_json, pid, error, created_at, "
          + "expires_at, on_timeout) VALUES ('sb-a', 't', 'RUNNING', 2, 512, 300, '{\"A\":\"1\"}', '{}', '{\"vm\":1}', 4242, NULL, 1000, " + LATE + ", 'PAUSE')");
      s.execute("INSERT INTO sandboxes (id, template, state, vcpus, memory_mib, timeout_seconds, env_json, metadata_json, created_at, error) "
          + "VALUES ('sb-b', 't', 'ERROR', 1, 256, 0, '{}', '{}', 2000, 'VM died')");
      s.execute("INSERT INTO checkpoints VALUES ('cp-1', 'sb-a', 'before', '/disks/l1.qcow2', 123, 'abc', '{\"vm\":0}', 1500)");
      s.execute("INSERT INTO sandbox_networks VALUES ('sb-a', 3, '{\"mode\":\"isolated\"}', 'tok', '[]')");
      s.execute("INSERT INTO sandbox_events (sandbox_id, at, kind, message) VALUES ('sb-a', 1000, 'created', 'booted'), ('sb-b', 2000, 'error', 'VM died'), "
          + "('sb-gone', 900, 'created', 'booted')");
      s.execute("INSERT INTO sandbox_tombstones VALUES ('sb-gone', 't', 'EXPIRED', 900, 950, 940, 40, " + LATE + ")");
      s.execute("INSERT INTO api_keys VALUES ('k1', 'hash1', 'ci', 800)");
      s.execute("INSERT INTO pools VALUES ('t', 1, 3)");
    }

    try (Database db = Database.open(file)) {
      assertEquals(plus(List.of("6 BASELINE", "7 SQL"), commonScriptsAfter(7)), history(db), "the old file is baselined at its version; only what came after runs");
      assertFalse(tableExists(db, "schema_version"), "the old migrator's table goes once Flyway has the file");

      SandboxRepository sandboxes = new SandboxRepository(db);
      assertEquals(new SandboxRow("sb-a", "t", "RUNNING", 2, 512, 300, "{\"A\":\"1\"}", "{}", Optional.of("{\"vm\":1}"), OptionalLong.of(4242), Optional.empty(),
          Instant.ofEpochMilli(1000), Optional.of(Instant.ofEpochMilli(LATE)), "PAUSE", "", ""), sandboxes.find("sb-a").orElseThrow());
      assertEquals(new SandboxRow("sb-b", "t", "ERROR", 1, 256, 0, "{}", "{}", Optional.empty(), OptionalLong.empty(), Optional.of("VM died"),
          Instant.ofEpochMilli(2000), Optional.empty(), "DELETE", "", ""), sandboxes.find("sb-b").orElseThrow());
      assertEquals(0, sandboxes.findListed("sb-a").orElseThrow().version());
      assertEquals(Instant.ofEpochMilli(LATE), new TemplateRepository(db).find("t").orElseThrow().updatedAt());
      assertEquals(List.of("before"), new CheckpointRepository(db).ofSandbox("sb-a").stream().map(CheckpointRow::name).toList());
      assertEquals(3, new NetworkRepository(db).find("sb-a").orElseThrow().slot());
      EventRepository events = new EventRepository(db);
      assertEquals(List.of("created"), events.of("sb-a").stream().map(EventRepository.Event::kind).toList());
      assertEquals(List.of("created"), events.of("sb-gone").stream().map(EventRepository.Event::kind).toList());
      assertEquals(Instant.ofEpochMilli(LATE), new TombstoneRepository(db).find("sb-gone").orElseThrow().purgeAt());
      // A key from before roles could do everything: it stays an admin.
      assertEquals("ADMIN", new ApiKeyRepository(db).findActiveByHash("hash1").orElseThrow().role());
      assertEquals(List.of(new PoolRepository.PoolRow("t", 1, 3)), new PoolRepository(db).all());

      // The remade sandboxes table is still the parent its children's ON DELETE CASCADE names.
      sandboxes.delete("sb-a");
      assertEquals(List.of(), new CheckpointRepository(db).ofSandbox("sb-a"));
      assertTrue(new NetworkRepository(db).find("sb-a").isEmpty());
    }
    try (Database db = Database.open(file)) {
      assertEquals(plus(List.of("6 BASELINE", "7 SQL"), commonScriptsAfter(7)), history(db), "a second start applies nothing");
    }
  }

  @Test
  void anOlderFileOfTheOldMigratorGetsTheScriptsItMissed() throws Exception {
    Path file = dir.resolve("k.db");
    try (Connection c = OldMigratorFile.create(file, 4); Statement s = c.createStatement()) {
      s.execute("INSERT INTO templates (name, status, source, created_at, updated_at) VALUES ('t', 'READY', 'dir:/x', 1, 1)");
      s.execute("INSERT INTO sandboxes (id, template, state, vcpus, memory_mib, timeout_seconds, env_json, metadata_json, created_at) "
          + "VALUES ('sb-a', 't', 'PAUSED', 1, 256, 300, '{}', '{}', 1000)");
      s.execute("INSERT INTO sandbox_events (sandbox_id, at, kind, message) VALUES ('sb-a', 1000, 'created', 'booted')");
    }
    try (Database db = Database.open(file)) {
      assertEquals(plus(List.of("4 BASELINE", "5 SQL", "6 SQL", "7 SQL"), commonScriptsAfter(7)), history(db));
      assertEquals("PAUSED", new SandboxRepository(db).find("sb-a").orElseThrow().state());
      assertEquals(1, new EventRepository(db).of("sb-a").size());
    }
  }

  @Test
  void aTakeOverCutShortAfterTheBaselineIsFinishedAtTheNextStart() throws Exception {
    Path file = dir.resolve("k.db");
    OldMigratorFile.create(file, 6).close();
    // The first start got as far as recording the baseline.
    SQLiteDataSource source = new SQLiteDataSource();
    source.setUrl("jdbc:sqlite:" + file);
    Migrations.configure(source, Dialect.SQLITE, 6).baseline();
    try (Database db = Database.open(file)) {
      assertEquals(plus(List.of("6 BASELINE", "7 SQL"), commonScriptsAfter(7)), history(db));
      assertFalse(tableExists(db, "schema_version"));
    }
  }

  @Test
  void aSchemaVersionTableTheOldMigratorCouldNotHaveWrittenStopsTheStart() throws Exception {
    Path file = dir.resolve("k.db");
    try (Connection c = OldMigratorFile.create(file, 4); Statement s = c.createStatement()) {
      s.execute("DELETE FROM schema_version WHERE version = 3");
    }
    SQLException e = assertThrows(SQLException.class, () -> Database.open(file));
    assertEquals("table schema_version holds 3 versions from 1 to 4; the migrator before Flyway wrote versions 1..n with n at most 6, "
        + "so this file was not made by it", e.getMessage());
  }

  private static List<String> history(Database db) {
    return db.read(c -> strings(c, "SELECT version || ' ' || type FROM flyway_schema_history WHERE success = 1 ORDER BY installed_rank"));
  }

  private static boolean tableExists(Database db, String name) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")) {
        p.setString(1, name);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  static List<String> strings(Connection c, String sql) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      List<String> out = new ArrayList<>();
      while (rs.next()) out.add(rs.getString(1));
      return out;
    }
  }
}
