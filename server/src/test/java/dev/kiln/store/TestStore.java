package dev.kiln.store;

import java.nio.file.Path;
import java.sql.SQLException;

/**
 * A database for a store test, of one dialect: a SQLite file in the test's directory, or a new
 * database on the JVM's PostgreSQL test server. It can be opened as often as the test likes (the
 * first open makes the schema), so a test can close and reopen it.
 */
record TestStore(Dialect dialect, Path file, PostgresTarget target) {
  static TestStore fresh(Dialect dialect, Path dir) throws Exception {
    return switch (dialect) {
      case SQLITE -> new TestStore(dialect, dir.resolve("k.db"), null);
      case POSTGRESQL -> new TestStore(dialect, null, PostgresServer.shared().newDatabase());
    };
  }

  Database open() throws SQLException {
    return switch (dialect) {
      case SQLITE -> Database.open(file);
      case POSTGRESQL -> Database.open(target);
    };
  }
}
