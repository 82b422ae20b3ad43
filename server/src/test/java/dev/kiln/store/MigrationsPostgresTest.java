package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The common migrations on a PostgreSQL server: the same schema as SQLite's, with 64-bit times and sizes. */
class MigrationsPostgresTest {
  @TempDir Path dir;

  @Test
  void aNewDatabaseIsMadeFromTheBaselineOnceAndHasSqlitesTablesAndColumns() throws Exception {
    PostgresServer server = PostgresServer.shared();
    PostgresTarget target = server.newDatabase();
    Database.open(target).close();
    Database.open(target).close();
    try (Connection c = server.connect(target); Database sqlite = Database.open(dir.resolve("k.db"))) {
      assertEquals(java.util.stream.Stream.concat(java.util.stream.Stream.of("7 SQL_BASELINE"), MigrationsTest.commonScriptsAfter(7).stream()).toList(), MigrationsTest.strings(c, "SELECT version || ' ' || type FROM flyway_schema_history WHERE success ORDER BY installed_rank"),
          "made from the baseline, then the common scripts after it; a second start applies nothing");
      List<String> sqliteColumns = sqlite.read(s -> MigrationsTest.strings(s, "SELECT m.name || '.' || p.name FROM sqlite_master m, pragma_table_info(m.name) p "
          + "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'flyway_schema_history' ORDER BY 1"));
      assertEquals(sqliteColumns, MigrationsTest.strings(c, "SELECT table_name || '.' || column_name FROM information_schema.columns "
          + "WHERE table_schema = 'public' AND table_name <> 'flyway_schema_history' ORDER BY 1"));
      // PostgreSQL's INTEGER is 32-bit: only counts, flags, slot and version numbers and HTTP statuses may be one; times (epoch ms) and sizes are BIGINT.
      assertEquals(List.of("audit_log.status", "nodes.cordoned", "pools.max_ready", "pools.min_ready", "sandbox_networks.slot", "sandboxes.template_version",
          "sandboxes.vcpus", "template_versions.pinned", "template_versions.version"), MigrationsTest.strings(c,
          "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type = 'integer' "
              + "AND table_name <> 'flyway_schema_history' ORDER BY 1"));
    }
  }
}
