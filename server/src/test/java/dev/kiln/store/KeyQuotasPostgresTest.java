package dev.kiln.store;

/** {@link KeyQuotasContract} on a PostgreSQL server. */
class KeyQuotasPostgresTest extends KeyQuotasContract {
  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }
}
