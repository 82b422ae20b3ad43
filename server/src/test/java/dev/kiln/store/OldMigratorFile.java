package dev.kiln.store;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;

/**
 * A database file as the migrator before Flyway left it: the same scripts, split and run its way on
 * one connection with foreign keys on, each recorded in {@code schema_version}. Test fixture: the
 * upgrade path must start from a real file of the old daemon.
 */
final class OldMigratorFile {
  private static final String[] SCRIPTS = {"V1__init.sql", "V2__template_images.sql", "V3__on_timeout.sql", "V4__checkpoints_events_pools.sql",
      "V5__networks.sql", "V6__tombstones.sql"};

  private OldMigratorFile() {}

  /** Creates {@code file} at version {@code upTo} (1..6) and returns an open connection to fill it with rows; the caller closes it. */
  static Connection create(Path file, int upTo) throws Exception {
    Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
    try (Statement s = c.createStatement()) {
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=FULL");
      s.execute("PRAGMA foreign_keys=ON");
      s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      for (int v = 1; v <= upTo; v++) {
        String sql;
        try (InputStream in = OldMigratorFile.class.getResourceAsStream("/db/migration/sqlite/" + SCRIPTS[v - 1])) {
          sql = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        for (String stmt : sql.split(";\\s*\\n")) {
          String body = stmt.replaceAll("(?m)^--.*$", "").strip();
          if (!body.isEmpty()) s.execute(body);
        }
        try (PreparedStatement p = c.prepareStatement("INSERT INTO schema_version VALUES (?, ?)")) {
          p.setInt(1, v);
          p.setLong(2, System.currentTimeMillis());
          p.executeUpdate();
        }
      }
    }
    return c;
  }
}
