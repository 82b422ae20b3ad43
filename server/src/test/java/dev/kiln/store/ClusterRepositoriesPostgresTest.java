package dev.kiln.store;

/** {@link ClusterRepositoriesContract} on a PostgreSQL server. */
class ClusterRepositoriesPostgresTest extends ClusterRepositoriesContract {
  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }
}
