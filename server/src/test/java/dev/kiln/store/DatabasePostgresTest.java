package dev.kiln.store;

/** {@link DatabaseContract} on a PostgreSQL server. */
class DatabasePostgresTest extends DatabaseContract {
  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }
}
