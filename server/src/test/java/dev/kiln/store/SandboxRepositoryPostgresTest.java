package dev.kiln.store;

/** {@link SandboxRepositoryContract} on a PostgreSQL server. */
class SandboxRepositoryPostgresTest extends SandboxRepositoryContract {
  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }
}
