package dev.kiln.store;

/** {@link ClusterRepositoriesContract} on a SQLite file. */
class ClusterRepositoriesTest extends ClusterRepositoriesContract {
  @Override
  Dialect dialect() {
    return Dialect.SQLITE;
  }
}
