package dev.kiln.store;

/** {@link AuditTrailContract} on a PostgreSQL server. */
class AuditTrailPostgresTest extends AuditTrailContract {
  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }
}
