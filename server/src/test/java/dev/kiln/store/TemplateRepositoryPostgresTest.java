package dev.kiln.store;

/** {@link TemplateRepositoryContract} on a PostgreSQL server. */
class TemplateRepositoryPostgresTest extends TemplateRepositoryContract {
  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }
}
