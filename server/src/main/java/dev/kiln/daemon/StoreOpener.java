package dev.kiln.daemon;

import dev.kiln.config.ClusterConfig;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.store.Database;
import dev.kiln.store.PostgresTarget;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Optional;

/** Opens the store the `database` config key names: the SQLite file in the data directory, or a PostgreSQL database. */
final class StoreOpener {
  private static final String KEYS = "the `database` config key (url, user, passwordFile)";

  private StoreOpener() {}

  /** @throws DaemonStartException when PostgreSQL cannot be reached, logged into or migrated, or the password file read: one line naming the keys */
  static Database open(DatabaseConfig c, Path dataDir, ClusterConfig.Role role) throws SQLException, DaemonStartException {
    if (!c.postgresql() && role != ClusterConfig.Role.COMBINED) {
      throw new DaemonStartException("a " + role.flag() + " daemon needs the PostgreSQL database its cluster shares (the `database` config key: url, user, "
          + "passwordFile); a SQLite file belongs to one daemon, so one host runs as combined (the default role)");
    }
    if (!c.postgresql()) return Database.open(dataDir.resolve("kiln.db"));
    Optional<String> password = c.passwordFile() == null ? Optional.empty() : Optional.of(password(c.passwordFile()));
    try {
      return Database.open(new PostgresTarget(c.url(), c.user(), password, c.maxConnections()));
    } catch (SQLException e) {
      throw new DaemonStartException(oneLine(e.getMessage()).replaceFirst("\\.$", "") + "; check " + KEYS, e);
    }
  }

  private static String password(Path file) throws DaemonStartException {
    try {
      return Files.readString(file, StandardCharsets.UTF_8).replaceFirst("\\r?\\n$", "");
    } catch (NoSuchFileException e) {
      throw new DaemonStartException("database.passwordFile " + file + " does not exist", e);
    } catch (AccessDeniedException e) {
      throw new DaemonStartException("database.passwordFile " + file + " cannot be read: permission denied", e);
    } catch (IOException e) {
      throw new DaemonStartException("database.passwordFile " + file + " cannot be read: " + (e.getMessage() == null ? "I/O error" : e.getMessage()), e);
    }
  }

  /** Flyway's and the driver's messages run over several lines; a start failure is said in one. */
  private static String oneLine(String s) {
    return s == null ? "database error" : s.strip().replaceAll("\\s*\\R\\s*", " ");
  }
}
