package dev.kiln.store;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL 15 server for tests, from Debian's package (scripts/install.sh installs it):
 * one per test JVM, started on first use in a directory of its own under /tmp on a free loopback
 * port, stopped and removed when the JVM exits. It never touches a system-wide server. A test
 * class gets a database of its own ({@link #databaseOf}), emptied before each of its tests; a test
 * that needs a database no store has opened yet makes one ({@link #newDatabase()}).
 *
 * <p>The server refuses to run as root; as root (development machines and CI here) every
 * PostgreSQL binary runs as the package's {@code postgres} user through runuser, in a directory
 * that user owns. Without the binaries a test using this is skipped, saying what to install.
 * fsync is off: a crash of the test machine may lose this throwaway cluster.
 */
public final class PostgresServer {
  static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
  /** The superuser initdb makes; trust authentication on loopback, so no password. */
  static final String USER = "kiln";
  private static PostgresServer shared;

  private final Path dir;
  private final int port;
  private final AtomicInteger databases = new AtomicInteger();
  private final Map<Class<?>, PostgresTarget> perClass = new ConcurrentHashMap<>();

  private PostgresServer(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** The JVM's server, started by the first caller; skips the calling test when PostgreSQL 15 is not installed. */
  public static synchronized PostgresServer shared() throws IOException, InterruptedException {
    Assumptions.assumeTrue(Files.isExecutable(BIN.resolve("initdb")) && Files.isExecutable(BIN.resolve("pg_ctl")),
        "PostgreSQL 15 is not installed (no " + BIN + "/initdb): apt-get install postgresql, as scripts/install.sh does; the PostgreSQL half of the store tests is skipped");
    if (shared == null) shared = start();
    return shared;
  }

  private static PostgresServer start() throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    Path dir = Files.createTempDirectory("kiln-pg-");
    try {
      PostgresServer server = start(dir);
      // One hook for both: hooks run in no set order, and the directory must outlive the server.
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.stop();
        removeQuietly(dir);
      }));
      System.out.printf("PostgreSQL test server in %s on 127.0.0.1:%d, up in %d ms%n", dir, server.port, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
      return server;
    } catch (IOException | InterruptedException | RuntimeException e) {
      removeQuietly(dir);
      throw e;
    }
  }

  private static PostgresServer start(Path dir) throws IOException, InterruptedException {
    if (root()) {
      UserPrincipalLookupService users = dir.getFileSystem().getUserPrincipalLookupService();
      Files.setOwner(dir, users.lookupPrincipalByName("postgres"));
    }
    run(dir, BIN.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C", "--no-sync");
    IOException last = null;
    // A free port found here may be taken before the server binds it; a few tries cover that race.
    for (int attempt = 0; attempt < 3; attempt++) {
      int port = freePort();
      try {
        run(dir, BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l", dir.resolve("log").toString(), "-w", "-o",
            "-k " + dir + " -p " + port + " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                + " -c max_connections=200", "start");
      } catch (IOException e) {
        last = e;
        continue;
      }
      return new PostgresServer(dir, port);
    }
    throw last;
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
    return port;
  }

  private String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  private void stop() {
    try {
      run(dir, BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "-w", "stop");
    } catch (IOException | InterruptedException e) {
      System.err.println("PostgreSQL test server in " + dir + " did not stop: " + e.getMessage());
    }
  }

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  /** Runs a PostgreSQL binary (as the postgres user when we are root); fails with its output. */
  private static void run(Path dir, String... argv) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    if (root()) cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    cmd.addAll(List.of(argv));
    Path out = Files.createTempFile("kiln-pg-cmd-", ".log");
    try {
      Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " did not finish in 60 s");
      }
      if (p.exitValue() != 0) {
        String log = Files.exists(dir.resolve("log")) ? Files.readString(dir.resolve("log"), StandardCharsets.UTF_8) : "";
        throw new IOException(String.join(" ", cmd) + " exited " + p.exitValue() + ": " + Files.readString(out, StandardCharsets.UTF_8) + log);
      }
    } finally {
      Files.deleteIfExists(out);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void removeQuietly(Path dir) {
    try (Stream<Path> all = Files.walk(dir)) {
      all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not remove " + dir + ": " + e.getMessage());
    }
  }
}
