package dev.kiln.store;

import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The two databases the store runs on, and the little that differs between them outside the
 * repositories' SQL (which is written in the subset both accept): where the migrations are, the
 * values of the placeholders in them, the isolation of transactions, and which failures mean "run
 * the transaction again".
 */
enum Dialect {
  /**
   * The embedded file. Its migrations are the common ones and, before them, the SQLite-only
   * scripts V1-V7 that files made before the baseline were migrated with (Flyway applies those to
   * such a file only; a new file starts at the baseline).
   */
  SQLITE(List.of(Migrations.COMMON, Migrations.SQLITE_BEFORE_BASELINE), "INTEGER PRIMARY KEY AUTOINCREMENT"),
  /** A server shared by a cluster: always created from the baseline. */
  POSTGRESQL(List.of(Migrations.COMMON), "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY");

  private final List<String> locations;
  private final String serialPrimaryKey;

  Dialect(List<String> locations, String serialPrimaryKey) {
    this.locations = locations;
    this.serialPrimaryKey = serialPrimaryKey;
  }

  List<String> migrationLocations() {
    return locations;
  }

  /**
   * Flyway placeholders ({@code ${name}}) of the common scripts. {@code serial_pk}: a 64-bit key
   * the database numbers upwards and never reuses (SQLite has no IDENTITY, PostgreSQL no AUTOINCREMENT).
   */
  Map<String, String> placeholders() {
    return Map.of("serial_pk", serialPrimaryKey);
  }

  /**
   * The isolation of write transactions, as the pool names it. PostgreSQL's writers are
   * SERIALIZABLE, so a read-modify-write in one transaction is as whole as under SQLite's single
   * writer; SQLite's transactions are serializable whatever is asked.
   */
  Optional<String> writeIsolation() {
    return this == POSTGRESQL ? Optional.of("TRANSACTION_SERIALIZABLE") : Optional.empty();
  }

  /** The isolation of reads: one snapshot per read transaction (SQLite's WAL readers have one anyway); read-only, so it never fails to serialize. */
  Optional<String> readIsolation() {
    return this == POSTGRESQL ? Optional.of("TRANSACTION_REPEATABLE_READ") : Optional.empty();
  }

  /**
   * Whether a write transaction that failed this way may simply run again: on PostgreSQL a
   * serializable transaction that another one's commit made impossible (40001), or the loser of a
   * deadlock (40P01). SQLite has one writer and never fails so (a busy file waits instead).
   */
  boolean retryable(SQLException e) {
    return this == POSTGRESQL && ("40001".equals(e.getSQLState()) || "40P01".equals(e.getSQLState()));
  }
}
