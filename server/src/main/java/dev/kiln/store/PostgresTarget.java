package dev.kiln.store;

import java.util.Optional;

/**
 * A PostgreSQL database to keep the state in: its JDBC url (which is logged, so it never holds the
 * password), the user and its password, and how many connections write at once.
 */
public record PostgresTarget(String url, String user, Optional<String> password, int writers) {
  public PostgresTarget {
    if (!url.startsWith("jdbc:postgresql://")) throw new IllegalArgumentException("not a PostgreSQL JDBC url: " + url);
    if (writers < 1) throw new IllegalArgumentException("need at least one writer connection, got " + writers);
  }

  /** The url and the user: what a log line or an error may say. */
  @Override
  public String toString() {
    return url + " as user " + user;
  }
}
