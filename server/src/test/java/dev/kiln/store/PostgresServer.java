package dev.kiln.store;

import dev.kiln.bench.ThrowawayPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL 15 server for tests ({@link ThrowawayPostgres}, Debian's package, which
 * scripts/install.sh installs): one per test JVM, started on first use in a directory of its own
 * under /tmp, stopped and removed when the JVM exits. A test class gets a database of its own
 * ({@link #databaseOf}), emptied before each of its tests; a test that needs a database no store
 * has opened yet makes one ({@link #newDatabase()}). Without the binaries a test using this is
 * skipped, saying what to install.
 */
public final class PostgresServer {
  /** The superuser initdb makes; trust authentication on loopback, so no password. */
  private static final String USER = ThrowawayPostgres.USER;
  private static PostgresServer shared;

  private final ThrowawayPostgres server;
  private final AtomicInteger databases = new AtomicInteger();
  private final Map<Class<?>, PostgresTarget> perClass = new ConcurrentHashMap<>();

  private PostgresServer(ThrowawayPostgres server) {
    this.server = server;
  }

  /** The JVM's server, started by the first caller; skips the calling test when PostgreSQL 15 cannot be run here. */
  public static synchronized PostgresServer shared() throws IOException {
    Optional<String> why = ThrowawayPostgres.unavailableReason();
    Assumptions.assumeTrue(why.isEmpty(), () -> why.orElse("") + ": the PostgreSQL half of the store tests is skipped");
    if (shared == null) shared = start();
    return shared;
  }

  private static PostgresServer start() throws IOException {
    long t0 = System.nanoTime();
    ThrowawayPostgres server = ThrowawayPostgres.start(Path.of(System.getProperty("java.io.tmpdir")));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        server.close();
      } catch (IOException e) {
        System.err.println("PostgreSQL test server on port " + server.port() + " did not stop or was not removed: " + e.getMessage());
      }
    }));
    System.out.printf("PostgreSQL test server on 127.0.0.1:%d, up in %d ms%n", server.port(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
    return new PostgresServer(server);
  }

  /**
   * The database of {@code testClass}: new at its first test, and at each next one emptied (every
   * table but Flyway's history truncated, sequences restarted), which costs a few milliseconds
   * where a new database and its migration cost a few hundred.
   */
  public PostgresTarget databaseOf(Class<?> testClass) throws SQLException {
    PostgresTarget known = perClass.get(testClass);
    if (known == null) {
      PostgresTarget made = newDatabase();
      perClass.put(testClass, made);
      return made;
    }
    try (Connection c = connect(known); Statement s = c.createStatement()) {
      List<String> tables = new ArrayList<>();
      try (var rs = s.executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'flyway_schema_history'")) {
        while (rs.next()) tables.add(rs.getString(1));
      }
      if (!tables.isEmpty()) s.execute("TRUNCATE " + String.join(", ", tables) + " RESTART IDENTITY CASCADE");
    }
    return known;
  }

  /** A new, empty database on this server, for the store to migrate. */
  public PostgresTarget newDatabase() throws SQLException {
    String name = "kiln_" + databases.incrementAndGet();
    try (Connection c = DriverManager.getConnection(url("postgres"), USER, null); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    // Two writers: enough for the tests' concurrent transactions to collide, and each connection is a server process to start.
    return new PostgresTarget(url(name), USER, Optional.empty(), 2);
  }

  /** A connection to {@code database} as the superuser, for a test to look at what the store wrote. */
  public Connection connect(PostgresTarget target) throws SQLException {
    return DriverManager.getConnection(target.url(), USER, null);
  }

  public int port() {
    return server.port();
  }

  private String url(String database) {
    return server.url(database);
  }
}
