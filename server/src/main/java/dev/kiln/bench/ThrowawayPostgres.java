package dev.kiln.bench;

import dev.kiln.host.AtomicFiles;
import dev.kiln.host.CommandException;
import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A PostgreSQL 15 server of Debian's package, made in a new directory and gone with it: for the
 * bench's cluster lines and the tests, never a system-wide server. It listens on a free loopback
 * port with trust authentication for {@link #USER}. fsync is off: a crash of the host may lose
 * this cluster, which nothing keeps anyway.
 *
 * <p>The server refuses to run as root; as root every PostgreSQL binary runs as the package's
 * {@code postgres} user through runuser, in a directory that user owns.
 */
public final class ThrowawayPostgres implements AutoCloseable {
  public static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
  /** The superuser initdb makes; trust authentication on loopback, so no password. */
  public static final String USER = "kiln";
  private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);

  private final Path dir;
  private final int port;

  private ThrowawayPostgres(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  /** Why no server can be started here (no binaries, or root without the postgres user), or empty. */
  public static Optional<String> unavailableReason() {
    if (!Files.isExecutable(BIN.resolve("initdb")) || !Files.isExecutable(BIN.resolve("pg_ctl"))) {
      return Optional.of("PostgreSQL 15 is not installed (no " + BIN + "/initdb; apt-get install postgresql, as scripts/install.sh does)");
    }
    if (root()) {
      try {
        Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
      } catch (UserPrincipalNotFoundException e) {
        return Optional.of("there is no postgres user to run PostgreSQL as (it refuses to run as root)");
      } catch (IOException e) {
        return Optional.of("cannot look up the postgres user: " + e.getMessage());
      }
    }
    return Optional.empty();
  }

  /** A server in a new directory under {@code parent} (which the postgres user must be able to traverse). */
  public static ThrowawayPostgres start(Path parent) throws IOException {
    Path dir = Files.createTempDirectory(parent, "kiln-pg-");
    try {
      if (root()) Files.setOwner(dir, dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres"));
      run(dir, BIN.resolve("initdb").toString(), "-D", dir.resolve("data").toString(), "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C", "--no-sync");
      IOException last = null;
      // A free port found here may be taken before the server binds it; a few tries cover that race.
      for (int attempt = 0; attempt < 3; attempt++) {
        int port = freePort();
        try {
          serve(dir, port);
          return new ThrowawayPostgres(dir, port);
        } catch (IOException e) {
          last = e;
        }
      }
      throw last;
    } catch (IOException | RuntimeException e) {
      AtomicFiles.deleteTree(dir);
      throw e;
    }
  }

  private static void serve(Path dir, int port) throws IOException {
    run(dir, BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-l", dir.resolve("log").toString(), "-w", "-o",
        "-k " + dir + " -p " + port + " -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            + " -c max_connections=200", "start");
  }

  /** Stops the server, keeping its data: what a database outage looks like to its clients (connections refused). */
  public void stop() throws IOException {
    run(dir, BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "fast", "-w", "stop");
  }

  /** Starts a stopped server again on the same port, with its data. */
  public void restart() throws IOException {
    serve(dir, port);
  }

  public int port() {
    return port;
  }

  /** The JDBC url of {@code database} on this server ({@code postgres} is there from the start). */
  public String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
  }

  /** Stops the server at once (its data is thrown away) and removes its directory. */
  @Override
  public void close() throws IOException {
    try {
      run(dir, BIN.resolve("pg_ctl").toString(), "-D", dir.resolve("data").toString(), "-m", "immediate", "-w", "stop");
    } finally {
      AtomicFiles.deleteTree(dir);
    }
  }

  private static boolean root() {
    return "root".equals(System.getProperty("user.name"));
  }

  /** Runs a PostgreSQL binary (as the postgres user when we are root); a failure carries the server's log, where pg_ctl says why. */
  private static void run(Path dir, String... argv) throws IOException {
    List<String> cmd = new ArrayList<>();
    if (root()) cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
    cmd.addAll(List.of(argv));
    try {
      CommandRunner.run(cmd, TOOL_TIMEOUT);
    } catch (CommandException e) {
      Path log = dir.resolve("log");
      throw new IOException(e.getMessage() + (Files.isReadable(log) ? "; the server's log: " + Files.readString(log, StandardCharsets.UTF_8) : ""), e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
