package dev.kiln.store;

import java.nio.file.Path;
import java.sql.SQLException;

/**
 * A database for a store test, of one dialect: a new SQLite file in the test's directory, or the
 * test class's database on the JVM's PostgreSQL test server, emptied. It can be opened as often as
 * the test likes, so a test can close and reopen it.
 */
record TestStore(Dialect dialect, Path file, PostgresTarget target) {
  static TestStore fresh(Dialect dialect, Path dir, Class<?> testClass) throws Exception {
    return switch (dialect) {
      case SQLITE -> new TestStore(dialect, dir.resolve("k.db"), null);
      case POSTGRESQL -> new TestStore(dialect, null, PostgresServer.shared().databaseOf(testClass));
    };
  }

  Database open() throws SQLException {
    return switch (dialect) {
      case SQLITE -> Database.open(file);
      case POSTGRESQL -> Database.open(target);
    };
  }
}
