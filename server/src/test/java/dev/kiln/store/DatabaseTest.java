package dev.kiln.store;

/** {@link DatabaseContract} on a SQLite file. */
class DatabaseTest extends DatabaseContract {
  @Override
  Dialect dialect() {
    return Dialect.SQLITE;
  }
}
