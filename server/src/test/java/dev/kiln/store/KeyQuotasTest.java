package dev.kiln.store;

/** {@link KeyQuotasContract} on a SQLite file. */
class KeyQuotasTest extends KeyQuotasContract {
  @Override
  Dialect dialect() {
    return Dialect.SQLITE;
  }
}
