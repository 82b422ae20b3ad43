package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.host.AtomicFiles;
import dev.kiln.host.CommandRunner;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.net.NetworkService;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * `kiln daemon` as a real process: what it leaves on the host when SIGTERM stops it, and how it
 * refuses to start beside a live daemon that holds its data directory, its network prefix or its
 * listen address (a message that says what and what to do, never a Java class name).
 */
@org.junit.jupiter.api.Tag("system")
class DaemonProcessSystemTest {
  private static final String KEY = "proc-" + UUID.randomUUID();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final Duration TIMEOUT = Duration.ofSeconds(10);
  /** Names of their own, so no other test's daemon shares them. */
  private static final String PREFIX = "kp";
  private static final String POOL = "10.236.0.0/24";
  private static final int DNS_PORT = 7858;

  private Path dir;
  private final List<Process> daemons = new ArrayList<>();

  @BeforeEach
  void up() throws Exception {
    Optional<String> why = NetworkService.unavailableReason();
    assumeTrue(why.isEmpty(), () -> "DaemonProcessSystemTest needs sandbox networking: " + why.orElse(""));
    dir = Files.createTempDirectory(Path.of("/tmp"), "kp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
  }

  @AfterEach
  void down() throws Exception {
    try {
      for (Process p : daemons) {
        p.destroyForcibly();
        p.waitFor();
      }
      for (String ns : namespaces()) CommandRunner.runAllowingFailure(List.of("ip", "netns", "del", ns), TIMEOUT);
    } finally {
      CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", PREFIX + "_host"), TIMEOUT);
      if (dir != null) AtomicFiles.deleteTree(dir);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A config file: data directory {@code name}, API on {@code port}, networking under this test's prefix (or off). */
  private Path config(String name, int port, boolean network) throws IOException {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("dataDir", dir.resolve(name).toString());
    c.put("listen", "127.0.0.1:" + port);
    c.put("guestArtifacts", TestHost.ARTIFACTS.toString());
    c.put("templateSnapshots", false);
    c.put("network", network ? Map.of("prefix", PREFIX, "addressPool", POOL, "dnsPort", DNS_PORT, "proxyListen", "127.0.0.1:0",
        "dnsUpstreams", List.of("127.0.0.1:9")) : Map.of("enabled", false));
    Path f = dir.resolve(name + "-" + port + ".json");
    Files.writeString(f, TestHost.JSON.writeValueAsString(c));
    return f;
  }

  private ProcessBuilder daemon(Path config) {
    String javaBin = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "dev.kiln.cli.KilnCli", "daemon", "--config", config.toString());
    pb.environment().put("KILN_API_KEY", KEY);
    return pb;
  }

  /** Starts a daemon that should come up, and waits for its API. */
  private Process start(Path config, int port) throws Exception {
    Process p = daemon(config).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("daemons.log").toFile())).start();
    daemons.add(p);
    await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
        .until(() -> call(port, "GET", "/healthz", null).status() == 200);
    return p;
  }

  /** Starts a daemon that should refuse: its exit code and everything it printed. */
  private record Refusal(int exitCode, String output) {}

  private Refusal refused(Path config) throws Exception {
    Process p = daemon(config).redirectErrorStream(true).start();
    daemons.add(p);
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "a refused daemon exits: " + out);
    return new Refusal(p.exitValue(), out);
  }

  /** SIGTERM, as systemd or ^C would stop it; returns once it exited. */
  private static void terminate(Process p) throws InterruptedException {
    p.destroy();
    assertTrue(p.waitFor(2, TimeUnit.MINUTES), "the daemon stops on SIGTERM");
  }

  private static TestHost.Reply call(int port, String method, String path, Object body) throws Exception {
    HttpRequest.BodyPublisher pub = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(TestHost.JSON.writeValueAsBytes(body));
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).header("Authorization", "Bearer " + KEY)
        .header("Content-Type", "application/json").method(method, pub).build(), HttpResponse.BodyHandlers.ofString());
    return new TestHost.Reply(r.statusCode(), r.body().isEmpty() ? TestHost.JSON.nullNode() : TestHost.JSON.readTree(r.body()), r.body());
  }

  private static CommandRunner.Result hostTable() {
    return CommandRunner.runAllowingFailure(List.of("nft", "list", "table", "ip", PREFIX + "_host"), TIMEOUT);
  }

  private static List<String> namespaces() throws IOException {
    try (var s = Files.list(Path.of("/run/netns"))) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(PREFIX + "-")).sorted().toList();
    } catch (java.nio.file.NoSuchFileException e) {
      return List.of();
    }
  }

  private static boolean udpPortFree(int port) {
    try (DatagramSocket s = new DatagramSocket(new InetSocketAddress("0.0.0.0", port))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void assertNoJava(String output) {
    for (String leak : List.of("Exception", "java.", "dev.kiln", "\tat ")) assertFalse(output.contains(leak), "no Java in front of a user: " + output);
  }

  @Test
  void aSecondDaemonRefusesAnotherOnesDataDirectoryNetworkPrefixOrListenAddress() throws Exception {
    int port = freePort();
    Process first = start(config("a", port, true), port);
    await().atMost(Duration.ofMinutes(1)).until(() -> namespaces().size() == 2); // its spare namespaces (network.prewarmed)
    List<String> spares = namespaces();

    Refusal sameDir = refused(config("a", freePort(), true));
    assertEquals(1, sameDir.exitCode(), sameDir.output());
    assertTrue(sameDir.output().contains("kiln: the data directory " + dir.resolve("a") + " is in use by another kiln daemon (pid " + first.pid()),
        sameDir.output());
    assertTrue(sameDir.output().contains("--data-dir"), sameDir.output());
    assertNoJava(sameDir.output());

    Refusal samePrefix = refused(config("b", freePort(), true));
    assertEquals(1, samePrefix.exitCode(), samePrefix.output());
    assertTrue(samePrefix.output().contains("kiln: the network prefix '" + PREFIX + "' is in use on this host by another kiln daemon (pid "
        + first.pid() + ", data directory " + dir.resolve("a") + ")"), samePrefix.output());
    assertTrue(samePrefix.output().contains("`network.prefix` config key"), samePrefix.output());
    assertNoJava(samePrefix.output());
    assertEquals(spares, namespaces(), "the first daemon's spare namespaces were not swept as leftovers");

    Refusal samePort = refused(config("c", port, false));
    assertEquals(1, samePort.exitCode(), samePort.output());
    assertTrue(samePort.output().contains("kiln: cannot listen on 127.0.0.1:" + port
        + ": address already in use (another kiln daemon? choose another with --listen or the `listen` config key)"), samePort.output());
    assertNoJava(samePort.output());

    assertEquals(200, call(port, "GET", "/v1/templates", null).status(), "the first daemon serves on, untouched");
    assertTrue(hostTable().stdout().contains("th dport " + DNS_PORT), "and its host table is whole: " + hostTable().stdout());
    terminate(first);
  }

  @Test
  void sigtermTakesAwayWhatTheDaemonPutOnTheHostAndLeavesSandboxesAdoptable() throws Exception {
    int port = freePort();
    Path cfg = config("d", port, true);
    Process d = start(cfg, port);
    assertTrue(hostTable().stdout().contains("th dport " + DNS_PORT), hostTable().stdout());
    BusyboxRootfs.create(dir.resolve("rootfs"));
    assertEquals(202, call(port, "POST", "/v1/templates", Map.of("name", "t", "directory", dir.resolve("rootfs").toString())).status());
    await().atMost(Duration.ofMinutes(2)).until(() -> call(port, "GET", "/v1/templates/t", null).json().path("status").asText().equals("ready"));
    TestHost.Reply created = call(port, "POST", "/v1/sandboxes", Map.of("template", "t", "memoryMib", 256, "network", Map.of("mode", "internet")));
    assertEquals(201, created.status(), created.raw());
    String id = created.json().path("id").asText();

    terminate(d);
    String parked = hostTable().stdout();
    assertTrue(parked.contains("masquerade"), "a sandbox network outlives the daemon: its NAT and guards stay: " + parked);
    assertFalse(parked.contains("dport"), "the resolver's rules go with the resolver: " + parked);
    assertEquals(1, namespaces().size(), "the sandbox's namespace stays, the spares go: " + namespaces());
    assertTrue(udpPortFree(DNS_PORT), "the resolver's port is free");

    d = start(cfg, port); // same data directory, same prefix: the claims went with the stopped daemon
    JsonNode sb = call(port, "GET", "/v1/sandboxes/" + id, null).json();
    assertEquals("running", sb.path("status").asText(), "re-adopted: " + sb);
    assertEquals("ok\n", call(port, "POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo ok")).json().path("stdout").asText());
    assertTrue(hostTable().stdout().contains("th dport " + DNS_PORT), "the next start installs the whole table again");
    assertEquals(204, call(port, "DELETE", "/v1/sandboxes/" + id, null).status());

    terminate(d);
    assertTrue(hostTable().exitCode() != 0, "no sandbox network left: the host table is gone: " + hostTable().stdout());
    assertEquals(List.of(), namespaces(), "no namespace of the daemon is left");
    assertTrue(udpPortFree(DNS_PORT), "the resolver's port is free");
    try (ServerSocket s = new ServerSocket(port, 1, java.net.InetAddress.getLoopbackAddress())) {
      assertEquals(port, s.getLocalPort(), "the API's port is free");
    }
    String log = Files.readString(dir.resolve("daemons.log"));
    assertTrue(log.contains("host table " + PREFIX + "_host removed"), log);
  }
}
