package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteDataSource;

/**
 * Brings a database file to the newest schema with Flyway, from the numbered scripts in
 * {@code db/migration/sqlite} (a PostgreSQL store gets a folder of its own beside it).
 *
 * <p>A file made by the migrator before Flyway has a {@code schema_version} table (one row per
 * script applied, 1..n) and no Flyway history: Flyway is told that the file is at version n
 * (a baseline), applies what comes after, and then the old table goes. Each step leaves a file
 * the next start finishes: a baseline already recorded is not made again, and an old table seen
 * beside a Flyway history is only dropped.
 */
final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);
  /** One folder per database: SQLite can remake a table but not alter a constraint, PostgreSQL the other way round. */
  static final String LOCATION = "classpath:db/migration/sqlite";
  private static final String LEGACY_TABLE = "schema_version";
  /** The last script the old migrator knew; a file claiming more was not made by it. */
  private static final int LEGACY_MAX = 6;

  private Migrations() {}

  /**
   * Migrates the file. The migration connections run with foreign keys OFF: SQLite cannot alter a
   * constraint in place, so a script remakes a table, and with them on, dropping a parent table
   * would delete its children through ON DELETE CASCADE. The keys are checked once all scripts ran.
   */
  static void apply(SQLiteDataSource migrationSource) throws SQLException {
    try (Connection c = migrationSource.getConnection()) {
      boolean legacy = tableExists(c, LEGACY_TABLE);
      boolean takeOver = legacy && !tableExists(c, "flyway_schema_history");
      Flyway flyway = configure(migrationSource, takeOver ? legacyVersion(c) : 0);
      if (takeOver) {
        flyway.baseline();
        log.info("database taken over from the old migrator at version={}", flyway.getConfiguration().getBaselineVersion());
      }
      MigrateResult result = flyway.migrate();
      if (result.migrationsExecuted > 0) {
        log.info("database migrated from version={} to version={} scripts={}", result.initialSchemaVersion, result.targetSchemaVersion,
            result.migrationsExecuted);
      }
      if (legacy) {
        try (Statement s = c.createStatement()) {
          s.execute("DROP TABLE " + LEGACY_TABLE);
        }
      }
      checkForeignKeys(c);
    } catch (FlywayException e) {
      throw new SQLException("database migration failed: " + e.getMessage(), e);
    }
  }

  private static Flyway configure(SQLiteDataSource source, int baseline) {
    var config = Flyway.configure(Migrations.class.getClassLoader()).dataSource(source).locations(LOCATION).failOnMissingLocations(true)
        .validateMigrationNaming(true);
    if (baseline > 0) config.baselineVersion(String.valueOf(baseline)).baselineDescription("taken over from " + LEGACY_TABLE);
    return config.load();
  }

  /** The old migrator's version, after checking that its table is what that migrator wrote: rows 1..n, nothing else. */
  private static int legacyVersion(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*), COALESCE(MIN(version), 0), COALESCE(MAX(version), 0) FROM " + LEGACY_TABLE)) {
      rs.next();
      int count = rs.getInt(1), min = rs.getInt(2), max = rs.getInt(3);
      if (count == 0 || min != 1 || max != count || max > LEGACY_MAX) {
        throw new SQLException("table " + LEGACY_TABLE + " holds " + count + " versions from " + min + " to " + max
            + "; the migrator before Flyway wrote versions 1..n with n at most " + LEGACY_MAX + ", so this file was not made by it");
      }
      return max;
    }
  }

  private static boolean tableExists(Connection c, String name) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT 1 FROM sqlite_master WHERE type = 'table' AND lower(name) = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** Fails on any row whose foreign key names no row: the scripts ran without the keys enforced. */
  private static void checkForeignKeys(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("PRAGMA foreign_key_check")) {
      if (rs.next()) {
        throw new SQLException("after migration, row " + rs.getLong(2) + " of table " + rs.getString(1) + " refers to a missing row of " + rs.getString(3));
      }
    }
  }
}
