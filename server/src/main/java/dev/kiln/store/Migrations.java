package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a database to the newest schema with Flyway. One set of scripts serves both dialects
 * ({@code db/migration/common}): a baseline {@code B7__schema.sql} that makes the whole schema of
 * version 7 in a new database, then {@code V8__…} onwards beside it, in SQL both accept (the few
 * differences are {@link Dialect#placeholders()}). SQLite files made before the baseline were
 * migrated by the SQLite-only scripts V1-V7 ({@code db/migration/sqlite}); they stay, unchanged,
 * so Flyway can check those files' checksums and bring an older file up to 7 (docs/adr/0013).
 *
 * <p>A SQLite file made by the migrator before Flyway has a {@code schema_version} table (one row
 * per script applied, 1..n) and no Flyway history: Flyway is told that the file is at version n
 * (a baseline), applies what comes after, and then the old table goes. Each step leaves a file
 * the next start finishes: a baseline already recorded is not made again, and an old table seen
 * beside a Flyway history is only dropped.
 */
final class Migrations {
  private static final Logger log = LoggerFactory.getLogger(Migrations.class);
  /** The scripts of both dialects: the baseline and what comes after it. */
  static final String COMMON = "classpath:db/migration/common";
  /** SQLite's scripts before the baseline, for files made before it; never edited (their checksums are in those files). */
  static final String SQLITE_BEFORE_BASELINE = "classpath:db/migration/sqlite";
  private static final String LEGACY_TABLE = "schema_version";
  /** The last script the old migrator knew; a file claiming more was not made by it. */
  private static final int LEGACY_MAX = 6;

  private Migrations() {}

  /** Migrates the database behind {@code source}; for SQLite, its connections must have foreign keys off ({@link #applySqlite}). */
  static void apply(DataSource source, Dialect dialect) throws SQLException {
    try {
      if (dialect == Dialect.SQLITE) {
        applySqlite(source);
      } else {
        migrate(configure(source, dialect, 0));
      }
    } catch (FlywayException e) {
      throw new SQLException("database migration failed: " + e.getMessage(), e);
    }
  }

  /**
   * Migrates the file. The migration connections run with foreign keys OFF: SQLite cannot alter a
   * constraint in place, so a script remakes a table, and with them on, dropping a parent table
   * would delete its children through ON DELETE CASCADE. The keys are checked once all scripts ran.
   */
  private static void applySqlite(DataSource source) throws SQLException {
    try (Connection c = source.getConnection()) {
      boolean legacy = tableExists(c, LEGACY_TABLE);
      boolean takeOver = legacy && !tableExists(c, "flyway_schema_history");
      Flyway flyway = configure(source, Dialect.SQLITE, takeOver ? legacyVersion(c) : 0);
      if (takeOver) {
        flyway.baseline();
        log.info("database taken over from the old migrator at version={}", flyway.getConfiguration().getBaselineVersion());
      }
      migrate(flyway);
      if (legacy) {
        try (Statement s = c.createStatement()) {
          s.execute("DROP TABLE " + LEGACY_TABLE);
        }
      }
      checkForeignKeys(c);
    }
  }

  private static void migrate(Flyway flyway) {
    MigrateResult result = flyway.migrate();
    if (result.migrationsExecuted > 0) {
      log.info("database migrated from version={} to version={} scripts={}", result.initialSchemaVersion, result.targetSchemaVersion,
          result.migrationsExecuted);
    }
  }

  static Flyway configure(DataSource source, Dialect dialect, int baseline) {
    var config = Flyway.configure(Migrations.class.getClassLoader()).dataSource(source).locations(dialect.migrationLocations().toArray(String[]::new))
        .placeholders(dialect.placeholders()).failOnMissingLocations(true).validateMigrationNaming(true);
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
