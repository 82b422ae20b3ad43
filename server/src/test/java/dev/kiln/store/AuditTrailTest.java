package dev.kiln.store;

/** {@link AuditTrailContract} on a SQLite file. */
class AuditTrailTest extends AuditTrailContract {
  @Override
  Dialect dialect() {
    return Dialect.SQLITE;
  }
}
