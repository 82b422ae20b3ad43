package dev.kiln.system;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.ObjectStoreConfig;
import dev.kiln.config.NetworkConfig;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.TemplateSource;
import dev.kiln.vmm.Machine;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.UUID;

/**
 * A real Kiln daemon for system tests: its own data directory under /tmp (short, for Unix socket
 * paths), the guest artifacts built by scripts/build-guest.sh, a busybox template, and an HTTP
 * client holding a valid key. {@link #close} deletes every sandbox and the data directory.
 */
public final class TestHost implements AutoCloseable {
  public static final String TEMPLATE = "busybox";
  static final ObjectMapper JSON = new ObjectMapper();
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  static final Path ARTIFACTS = REPO.resolve("build/guest/current");

  final Path dir;
  final String key = "test-" + UUID.randomUUID();
  final HttpClient http = HttpClient.newHttpClient();
  KilnDaemon daemon;
  String base;

  private final boolean snapshots;
  /** Off unless a test asks: other tests need no namespaces, and the second (networked) template snapshot would cost them a boot. */
  private final NetworkConfig network;

  /** The bucket template artifacts are shared through; none unless a test asks. */
  private final ObjectStoreConfig objectStore;

  /** The store: the data directory's SQLite file unless a test shares a PostgreSQL database between hosts. */
  private final DatabaseConfig database;

  /** What one sandbox may hold; the defaults unless a test asks for less. */
  private dev.kiln.config.SandboxQuotas quotas = dev.kiln.config.SandboxQuotas.DEFAULT;

  /** E2B's host names (docs/e2b.md); none unless a test asks. */
  private dev.kiln.config.E2bConfig e2b = dev.kiln.config.E2bConfig.NONE;
  private dev.kiln.config.BuildsConfig builds = dev.kiln.config.BuildsConfig.DEFAULT;

  /** Stopped by {@link #stopDaemonOnly} and not booted again: close has no daemon to ask. */
  private boolean stopped;

  private TestHost(Path dir, boolean snapshots, NetworkConfig network, ObjectStoreConfig objectStore, DatabaseConfig database) {
    this.dir = dir;
    this.snapshots = snapshots;
    this.network = network;
    this.objectStore = objectStore;
    this.database = database;
  }

  /** A daemon that does not snapshot templates: every sandbox boots, and no snapshot VM competes for the CPU. */
  public static TestHost start() throws Exception {
    return start(false);
  }

  /** A daemon that snapshots each template once it is ready, as a default daemon does. */
  public static TestHost startWithSnapshots() throws Exception {
    return start(true);
  }

  /** A snapshotting daemon that also serves E2B's host names as {@code e2b} says, with the test template built. */
  public static TestHost startWithE2b(dev.kiln.config.E2bConfig e2b) throws Exception {
    TestHost h = unbooted(true, NetworkConfig.disabled(), ObjectStoreConfig.NONE, DatabaseConfig.EMBEDDED);
    h.e2b = e2b;
    h.boot();
    h.buildTemplate();
    return h;
  }

  /** A daemon that does not snapshot templates, with these quotas per sandbox. */
  public static TestHost startWithQuotas(dev.kiln.config.SandboxQuotas quotas) throws Exception {
    TestHost h = unbooted(false, NetworkConfig.disabled(), ObjectStoreConfig.NONE, DatabaseConfig.EMBEDDED);
    h.quotas = quotas;
    h.boot();
    h.buildTemplate();
    return h;
  }

  /** A snapshotting daemon with sandbox networking and Dockerfile builds under the given configs. */
  public static TestHost startForBuilds(NetworkConfig network, dev.kiln.config.BuildsConfig builds) throws Exception {
    TestHost h = unbooted(true, network, ObjectStoreConfig.NONE, DatabaseConfig.EMBEDDED);
    h.builds = builds;
    h.boot();
    h.buildTemplate();
    return h;
  }

  /** A snapshotting daemon with sandbox networking under the given config. */
  public static TestHost startNetworked(NetworkConfig network) throws Exception {
    return start(true, network);
  }

  private static TestHost start(boolean snapshots) throws Exception {
    return start(snapshots, NetworkConfig.disabled());
  }

  /** A snapshotting daemon that shares template artifacts through {@code objectStore} and its state in {@code database}, with the test template built. */
  public static TestHost startSharing(ObjectStoreConfig objectStore, DatabaseConfig database) throws Exception {
    TestHost h = unbooted(true, NetworkConfig.disabled(), objectStore, database);
    h.boot();
    h.buildTemplate();
    return h;
  }

  /** Another node on {@code objectStore} and {@code database}: a snapshotting daemon on a fresh data directory, not started. */
  public static TestHost unbootedSharing(ObjectStoreConfig objectStore, DatabaseConfig database) throws Exception {
    return unbooted(true, NetworkConfig.disabled(), objectStore, database);
  }

  private static TestHost unbooted(boolean snapshots, NetworkConfig network, ObjectStoreConfig objectStore, DatabaseConfig database) throws Exception {
    if (!Files.exists(ARTIFACTS.resolve("manifest.json"))) {
      throw new IllegalStateException("guest artifacts missing at " + ARTIFACTS + ": run scripts/build-guest.sh (the README's test command does)");
    }
    // o+x: each QEMU runs as an unprivileged uid of its own and must traverse into the data directory.
    return new TestHost(Files.createTempDirectory(Path.of("/tmp"), "kt", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x"))),
        snapshots, network, objectStore, database);
  }

  private static TestHost start(boolean snapshots, NetworkConfig network) throws Exception {
    TestHost h = unbooted(snapshots, network, ObjectStoreConfig.NONE, DatabaseConfig.EMBEDDED);
    h.boot();
    h.buildTemplate();
    return h;
  }

  private void buildTemplate() throws Exception {
    Path rootfs = dir.resolve("rootfs");
    BusyboxRootfs.create(rootfs);
    daemon.templates().build(TEMPLATE, new TemplateSource.Directory(rootfs), 256, Optional.of(MACHINE));
  }

  /**
   * The machine of the test template, so of every sandbox a test makes without naming one:
   * microvm, or what {@code -Dkiln.test.machine} says (the build runs a subset of the system
   * suite again on q35: see server/pom.xml).
   */
  static final Machine MACHINE = Machine.fromWire(System.getProperty("kiln.test.machine", "microvm"));

  /**
   * Waits for the snapshot the daemon takes of the test template in the background once it is
   * built: the template is "snapshotting" until then, and "ready" (with a snapshot) after.
   */
  void awaitTemplateSnapshot() {
    awaitTemplateSnapshot(TEMPLATE);
  }

  /** The same for another template this host built. */
  void awaitTemplateSnapshot(String template) {
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(3)).pollInterval(java.time.Duration.ofMillis(200)).until(() -> {
      JsonNode t = call("GET", "/v1/templates/" + template, null).json();
      return t.path("status").asText().equals("ready") && t.has("snapshot");
    });
  }

  /** The daemon's data directory, for tests outside this package that look under it. */
  public Path dataDir() {
    return dir.resolve("data");
  }

  /** The test template's current snapshot directory (with a network device, or not), if it has one. */
  Optional<Path> snapshotDir(boolean network) throws java.io.IOException {
    return daemon.templates().snapshotPointers().current(TEMPLATE, network);
  }

  /** The daemon itself, for tests outside this package that drive its parts directly. */
  public KilnDaemon daemon() {
    return daemon;
  }

  /** Starts (or restarts) the daemon on this host's data directory. */
  public void boot() throws Exception {
    KilnConfig c = KilnConfig.defaults().withDataDir(dir.resolve("data")).withListen("127.0.0.1:0").withGuestArtifacts(ARTIFACTS)
        .withTemplateSnapshots(snapshots).withNetwork(network).withObjectStore(objectStore).withDatabase(database).withSandboxQuotas(quotas).withE2b(e2b).withBuilds(builds);
    daemon = new KilnDaemon(c, Optional.of(key));
    daemon.start();
    stopped = false;
    base = "http://127.0.0.1:" + daemon.port();
  }

  /** Stops the daemon the way a crash would leave things: VMs keep running. */
  public void stopDaemonOnly() throws Exception {
    daemon.close();
    stopped = true;
  }

  record Reply(int status, JsonNode json, String raw) {}

  Reply call(String method, String path, Object body) throws Exception {
    return call(http, base, key, method, path, body, Optional.empty());
  }

  /** {@link #call(String, String, Object)} with another key than the daemon's own admin key. */
  Reply callAs(String bearer, String method, String path, Object body) throws Exception {
    return call(http, base, bearer, method, path, body, Optional.empty());
  }

  /**
   * One API call as a client makes it, to any daemon: the bearer key, a JSON body (a String is
   * sent as it is), the answer parsed when it is JSON.
   */
  static Reply call(HttpClient http, String base, String bearer, String method, String path, Object body, Optional<java.time.Duration> timeout)
      throws Exception {
    HttpRequest.BodyPublisher pub = body == null ? HttpRequest.BodyPublishers.noBody()
        : body instanceof String s ? HttpRequest.BodyPublishers.ofString(s) : HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body));
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + bearer)
        .header("Content-Type", "application/json").method(method, pub);
    timeout.ifPresent(req::timeout);
    HttpResponse<String> r = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = r.body().isEmpty() ? JSON.nullNode() : parseOrNull(r.body());
    return new Reply(r.statusCode(), json, r.body());
  }

  private static JsonNode parseOrNull(String s) {
    try {
      return JSON.readTree(s);
    } catch (Exception e) {
      return JSON.nullNode();
    }
  }

  String createSandbox(Object body) throws Exception {
    Reply r = call("POST", "/v1/sandboxes", body);
    if (r.status() != 201) throw new AssertionError("create failed: " + r.status() + " " + r.raw());
    return r.json().path("id").asText();
  }

  String createSandbox() throws Exception {
    return createSandbox(java.util.Map.of("template", TEMPLATE, "memoryMib", 256));
  }

  @Override
  public void close() throws Exception {
    try {
      if (daemon != null && !stopped) {
        daemon.sandboxes().deleteAll();
        daemon.close();
      }
    } finally {
      AtomicFiles.deleteTree(dir);
    }
  }
}
