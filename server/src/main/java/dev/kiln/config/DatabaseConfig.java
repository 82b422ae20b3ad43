package dev.kiln.config;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Where the daemon keeps its state. No {@code url}: the SQLite file {@code kiln.db} in the data
 * directory, as a single host always had. A {@code jdbc:postgresql://} url: a PostgreSQL database
 * (what a cluster shares). The password is never part of the url, which is logged and printed in
 * errors; it is read from {@code passwordFile}.
 */
public record DatabaseConfig(
    @ConfigDoc(value = "a PostgreSQL database as `jdbc:postgresql://host:port/database`; it must not carry a password (use `passwordFile`)",
        defaultText = "none: the SQLite file kiln.db in `dataDir`")
    String url,
    @ConfigDoc("the PostgreSQL user; needed with `url`")
    String user,
    @ConfigDoc("a file holding the PostgreSQL user's password (one line; its trailing newline is ignored); none: no password is sent")
    Path passwordFile,
    @ConfigDoc(value = "PostgreSQL connections for writes; SQLite always has one writer", range = "1..64")
    int maxConnections) {
  public static final DatabaseConfig EMBEDDED = new DatabaseConfig(null, null, null, 0);
  private static final String POSTGRESQL = "jdbc:postgresql://";

  public DatabaseConfig {
    // Eight writers: each holds a short transaction; more only queue at the server's locks, on a host that also runs VMs.
    if (maxConnections == 0) maxConnections = 8;
    if (maxConnections < 1 || maxConnections > 64) throw new IllegalArgumentException("database.maxConnections must be 1..64, got " + maxConnections);
    if (url != null) {
      // Checked first: the url is logged, and echoed in the error below: a password in it would be printed with it.
      if (url.toLowerCase(Locale.ROOT).matches(".*[?&][a-z]*password=.*")) { // password=, sslpassword=
        throw new IllegalArgumentException("database.url must not carry a password (the url is logged); put it in the file named by database.passwordFile");
      }
      if (!url.startsWith(POSTGRESQL)) {
        throw new IllegalArgumentException("database.url must start with " + POSTGRESQL + " (leave it out for the SQLite file in the data directory), got '"
            + url + "'");
      }
      if (user == null || user.isBlank()) throw new IllegalArgumentException("database.user is needed with database.url");
    } else if (user != null || passwordFile != null) {
      throw new IllegalArgumentException("database.user and database.passwordFile need database.url (the SQLite file has no users)");
    }
  }

  /** True when the state is in PostgreSQL, false for the SQLite file in the data directory. */
  public boolean postgresql() {
    return url != null;
  }
}
