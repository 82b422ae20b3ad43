package dev.kiln.store;

/** {@link TemplateRepositoryContract} on a SQLite file. */
class TemplateRepositoryTest extends TemplateRepositoryContract {
  @Override
  Dialect dialect() {
    return Dialect.SQLITE;
  }
}
