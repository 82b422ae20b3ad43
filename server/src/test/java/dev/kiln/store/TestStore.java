package dev.kiln.store;

import java.nio.file.Path;
import java.sql.SQLException;

/**
 * A database for a store test, of one dialect: a new SQLite file in the test's directory, or the
 * test class's database on the JVM's PostgreSQL test server, emptied. It can be opened as often as
 * the test likes, so a test can close and reopen it.
 */
sealed interface TestStore {
  Database open() throws SQLException;

  record SqliteFile(Path file) implements TestStore {
    @Override
    public Database open() throws SQLException {
      return Database.open(file);
    }
  }

  record PostgresDatabase(PostgresTarget target) implements TestStore {
    @Override
    public Database open() throws SQLException {
      return Database.open(target);
    }
  }

  static TestStore fresh(Dialect dialect, Path dir, Class<?> testClass) throws Exception {
    return switch (dialect) {
      case SQLITE -> new SqliteFile(dir.resolve("k.db"));
      case POSTGRESQL -> new PostgresDatabase(PostgresServer.shared().databaseOf(testClass));
    };
  }
}
