package dev.kiln.system;

import static org.awaitility.Awaitility.await;

import dev.kiln.host.AtomicFiles;
import dev.kiln.host.CommandRunner;
import dev.kiln.store.PostgresTarget;
import dev.kiln.vmm.Cgroups;
import dev.kiln.vmm.VmCgroups;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

/**
 * A cluster on this one machine, each daemon its own `kiln daemon --role …` process as an operator
 * starts it: control instances and nodes on one real PostgreSQL database and one bucket of a real
 * local S3 server. Each node has its own data directory, API and proxy ports, network prefix,
 * address pool and resolver port, so that nodes, other tests' daemons and the host do not meet.
 * Killing a process (SIGKILL) is a crash: its VMs run on, as after a real one.
 */
final class LocalCluster implements AutoCloseable {
  static final Duration HEARTBEAT = Duration.ofSeconds(1);
  static final Duration NODE_DOWN_AFTER = Duration.ofSeconds(4);
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  static final Duration POLL_TIMEOUT = Duration.ofSeconds(15);
  private static final Path CGROUPS = Path.of("/sys/fs/cgroup");
  /** Where a failed test's cluster leaves its daemons' logs (under the module's build directory). */
  private static final Path KEPT_LOGS = Path.of("target", "cluster-logs");
  private static final int TAIL_LINES = 12;

  final String key = "cluster-" + UUID.randomUUID();
  final Path dir;
  private final PostgresTarget database;
  private final Map<String, Object> objectStore;
  private final HttpClient http = HttpClient.newHttpClient();
  private final List<Daemon> daemons = new ArrayList<>();

  /** One daemon process: its role, name, config file, API port and (for nodes) network prefix. */
  final class Daemon {
    final String role;
    final String name;
    final Path config;
    final int port;
    final int proxyPort;
    final String prefix;
    Process process;

    private Daemon(String role, String name, Path config, int port, int proxyPort, String prefix) {
      this.role = role;
      this.name = name;
      this.config = config;
      this.port = port;
      this.proxyPort = proxyPort;
      this.prefix = prefix;
    }

    String base() {
      return "http://127.0.0.1:" + port;
    }

    Path dataDir() {
      return dir.resolve(name);
    }

    /** Starts the process and waits for its API to answer. */
    void start() throws Exception {
      String javaBin = ProcessHandle.current().info().command().orElse("java");
      ProcessBuilder pb = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
          "dev.kiln.cli.KilnCli", "daemon", "--role", role, "--config", config.toString());
      pb.environment().put("KILN_API_KEY", key);
      pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()));
      process = pb.start();
      try {
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> !process.isAlive()
            || http.send(HttpRequest.newBuilder(URI.create(base() + "/healthz")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(name + " (" + role + ") did not answer within 2 minutes; its output:\n" + tail(dir.resolve(name + ".log")), e);
      }
      if (!process.isAlive()) {
        throw new AssertionError(name + " (" + role + ") exited with " + process.exitValue() + "; its output:\n" + tail(dir.resolve(name + ".log")));
      }
    }

    /** The end of a daemon's output, for a failure's message. */
    private static String tail(Path log) throws java.io.IOException {
      String all = Files.exists(log) ? Files.readString(log) : "(none)";
      return all.length() > 8000 ? all.substring(all.length() - 8000) : all;
    }

    /** SIGKILL: the process dies at once, as in a crash; a node's VMs keep running. */
    void kill() throws InterruptedException {
      process.destroyForcibly();
      process.waitFor(1, TimeUnit.MINUTES);
    }

    TestHost.Reply call(String method, String path, Object body) throws Exception {
      return LocalCluster.this.call(base(), key, method, path, body);
    }

    /**
     * A GET for an await that polls in the test's own thread: a request that hangs fails with its
     * own timeout, after {@link #POLL_TIMEOUT}. An await polling in a thread of its own interrupts
     * the request in flight when its time is up, and the test then fails with that interrupted
     * request instead of with what it waited for.
     */
    TestHost.Reply poll(String path) throws Exception {
      return TestHost.call(http, base(), key, "GET", path, null, Optional.of(POLL_TIMEOUT));
    }

    /**
     * Every thread of the process, virtual ones too (which serve its requests), in {@code file}
     * when it is still running: jcmd, beside the java that runs the tests.
     */
    private void dumpThreads(Path file) {
      if (process == null || !process.isAlive()) return;
      Path jcmd = Path.of(ProcessHandle.current().info().command().orElse("java")).resolveSibling("jcmd");
      CommandRunner.runAllowingFailure(List.of(jcmd.toString(), Long.toString(process.pid()), "Thread.dump_to_file", "-format=text", file.toString()),
          TIMEOUT);
    }
  }

  /**
   * What a failed test needs said: every daemon's log, and the threads of each one still running,
   * kept where the cluster's directory (deleted at the end) does not take them; the answer names
   * that place and quotes the end of each log.
   */
  String failureReport() {
    StringBuilder out = new StringBuilder();
    try {
      Path kept = Files.createDirectories(KEPT_LOGS.resolve(dir.getFileName().toString())).toAbsolutePath();
      out.append("the cluster's daemons' logs, and the threads of those still running, are kept in ").append(kept);
      for (Daemon d : daemons) {
        d.dumpThreads(kept.resolve(d.name + ".threads.txt"));
        Path log = dir.resolve(d.name + ".log");
        if (!Files.exists(log)) continue;
        Files.copy(log, kept.resolve(log.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        List<String> lines = Files.readAllLines(log);
        out.append("\n--- the end of ").append(d.name).append(" (").append(d.role).append("):\n")
            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - TAIL_LINES), lines.size())));
      }
    } catch (Exception e) {
      out.append("\n(the report stopped: ").append(e).append(')');
    }
    return out.toString();
  }

  /**
   * Registered by a test class on a cluster: a failure (not a skip) carries the cluster's
   * {@link #failureReport} (as a suppressed {@link Report}), since its directory and processes are
   * gone once the class ends.
   */
  static final class ReportOnFailure implements TestExecutionExceptionHandler {
    private final Supplier<LocalCluster> cluster;

    ReportOnFailure(Supplier<LocalCluster> cluster) {
      this.cluster = cluster;
    }

    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable failure) throws Throwable {
      LocalCluster c = cluster.get();
      if (c == null || failure instanceof TestAbortedException) throw failure;
      failure.addSuppressed(new Report(c.failureReport()));
      throw failure;
    }
  }

  /** What the cluster looked like when a test failed; its stack would say nothing. */
  static final class Report extends RuntimeException {
    Report(String report) {
      super(report, null, false, false);
    }
  }

  /** A cluster on a PostgreSQL server of the test class's own and a new bucket of the local S3 server. */
  static LocalCluster on(dev.kiln.bench.ThrowawayPostgres postgres, dev.kiln.fixtures.LocalS3 s3) throws Exception {
    dev.kiln.config.ObjectStoreConfig bucket = s3.config(s3.newBucket());
    Map<String, Object> objectStore = new LinkedHashMap<>();
    objectStore.put("bucket", bucket.bucket());
    objectStore.put("endpoint", bucket.endpoint());
    objectStore.put("pathStyle", true);
    objectStore.put("credentialsFile", bucket.credentialsFile().toString());
    return new LocalCluster(new PostgresTarget(postgres.url("postgres"), dev.kiln.bench.ThrowawayPostgres.USER, Optional.empty(), 2), objectStore);
  }

  LocalCluster(PostgresTarget database, Map<String, Object> objectStore) throws IOException {
    this.database = database;
    this.objectStore = objectStore;
    // o+x: each QEMU runs as an unprivileged uid of its own and must traverse into the data directories.
    this.dir = Files.createTempDirectory(Path.of("/tmp"), "kcl", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
  }

  Daemon control(String name) throws IOException {
    int port = freePort();
    int proxy = freePort();
    Map<String, Object> c = common(name, port);
    c.put("network", Map.of("proxyListen", "127.0.0.1:" + proxy));
    return add(new Daemon("control", name, write(name, c), port, proxy, ""));
  }

  /**
   * A node with networking under its own prefix (kc<index>), a /24 of its own and its own
   * resolver port, labelled zone=z<index>; its port proxy listens on a free port of its own.
   */
  Daemon node(String name, int index, boolean networked) throws IOException {
    int port = freePort();
    int proxy = freePort();
    String prefix = "kc" + index;
    Map<String, Object> c = common(name, port);
    c.put("cluster", Map.of("nodeName", name, "heartbeatSeconds", HEARTBEAT.toSeconds(), "nodeDownAfterSeconds", NODE_DOWN_AFTER.toSeconds(),
        "labels", Map.of("zone", "z" + index)));
    c.put("guestArtifacts", TestHost.ARTIFACTS.toString());
    c.put("templateSnapshots", true);
    c.put("objectStore", objectStore);
    c.put("network", networked ? Map.of("prefix", prefix, "addressPool", "10.237." + index + ".0/24", "dnsPort", 7860 + index,
        "proxyListen", "127.0.0.1:" + proxy, "dnsUpstreams", List.of("127.0.0.1:9"), "prewarmed", 1) : Map.of("enabled", false));
    return add(new Daemon("node", name, write(name, c), port, proxy, prefix));
  }

  private Map<String, Object> common(String name, int port) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("dataDir", dir.resolve(name).toString());
    c.put("listen", "127.0.0.1:" + port);
    Map<String, Object> db = new LinkedHashMap<>();
    db.put("url", database.url());
    db.put("user", database.user());
    c.put("database", db);
    c.put("cluster", Map.of("nodeName", name, "heartbeatSeconds", HEARTBEAT.toSeconds(), "nodeDownAfterSeconds", NODE_DOWN_AFTER.toSeconds()));
    return c;
  }

  private Path write(String name, Map<String, Object> config) throws IOException {
    Path f = dir.resolve(name + ".json");
    Files.writeString(f, TestHost.JSON.writeValueAsString(config));
    return f;
  }

  private Daemon add(Daemon d) {
    daemons.add(d);
    return d;
  }

  TestHost.Reply call(String base, String bearer, String method, String path, Object body) throws Exception {
    return TestHost.call(http, base, bearer, method, path, body, Optional.of(Duration.ofMinutes(3)));
  }

  HttpClient http() {
    return http;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A killed node cannot remove its control groups as a stopping one does: once its VMs are gone (reaped), they go. */
  private void removeNodesControlGroups(String qemus) {
    try {
      await().atMost(TIMEOUT).pollInSameThread().until(() -> CommandRunner.runAllowingFailure(List.of("pgrep", "-f", qemus), TIMEOUT).stdout().isBlank());
    } catch (org.awaitility.core.ConditionTimeoutException e) {
      System.err.println("the cluster's control groups are left on the host: its QEMUs outlived SIGKILL for " + TIMEOUT.toSeconds() + " s");
      return;
    }
    for (Daemon d : daemons) {
      if (d.role.equals("node")) Cgroups.detect(CGROUPS, VmCgroups.scopeOf(d.dataDir()), d.dataDir()).ifPresent(Cgroups::leave);
    }
  }

  /**
   * Every process killed, then what the nodes' VMs and networks left: QEMU processes whose command
   * line names this cluster's directory, the nodes' namespaces, host tables and control groups.
   */
  @Override
  public void close() throws Exception {
    try {
      for (Daemon d : daemons) {
        if (d.process != null) d.kill();
      }
      String qemus = "qemu-system.*" + dir;
      CommandRunner.runAllowingFailure(List.of("pkill", "-9", "-f", qemus), TIMEOUT);
      for (Daemon d : daemons) {
        if (d.prefix.isEmpty()) continue;
        CommandRunner.Result ns = CommandRunner.runAllowingFailure(List.of("ip", "netns", "list"), TIMEOUT);
        for (String line : ns.stdout().split("\n")) {
          String name = line.split(" ")[0];
          if (name.startsWith(d.prefix + "-")) CommandRunner.runAllowingFailure(List.of("ip", "netns", "del", name), TIMEOUT);
        }
        CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", d.prefix + "_host"), TIMEOUT);
      }
      removeNodesControlGroups(qemus);
    } finally {
      AtomicFiles.deleteTree(dir);
    }
  }
}
