package dev.kiln.store;

/** {@link SandboxRepositoryContract} on a SQLite file. */
class SandboxRepositoryTest extends SandboxRepositoryContract {
  @Override
  Dialect dialect() {
    return Dialect.SQLITE;
  }
}
