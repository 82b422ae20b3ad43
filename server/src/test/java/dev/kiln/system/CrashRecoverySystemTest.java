package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.BusyboxRootfs;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The daemon as its own process, killed with SIGKILL while sandboxes run: the next daemon re-adopts
 * them with their files and processes, and a sandbox whose QEMU died in between is marked failed
 * and cleaned up. Nothing in-process can fake a kill -9, so this test runs `kiln daemon` for real.
 */
@Tag("system")
class CrashRecoverySystemTest {
  private static final String KEY = "crash-" + UUID.randomUUID();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static Path dir;
  private static Path config;
  private static String base;
  private static Process daemon;
  private static final String NET_PREFIX = "kc";

  @BeforeAll
  static void up() throws Exception {
    dir = Files.createTempDirectory(Path.of("/tmp"), "kc", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    BusyboxRootfs.create(dir.resolve("rootfs"));
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    base = "http://127.0.0.1:" + port;
    config = dir.resolve("kiln.json");
    Files.writeString(config, TestHost.JSON.writeValueAsString(Map.of("dataDir", dir.resolve("data").toString(), "listen", "127.0.0.1:" + port,
        "guestArtifacts", TestHost.ARTIFACTS.toString(), "templateSnapshots", false, "network", Map.of("prefix", NET_PREFIX, "addressPool", "10.233.0.0/24", "dnsPort", 7854,
        "proxyListen", "127.0.0.1:0", "dnsUpstreams", List.of("127.0.0.1:9")))));
    daemon = startDaemon();
    assertEquals(202, call("POST", "/v1/templates", Map.of("name", "crash", "directory", dir.resolve("rootfs").toString())).status());
    await().atMost(Duration.ofMinutes(2)).until(() -> call("GET", "/v1/templates/crash", null).json().path("status").asText().equals("ready"));
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (daemon != null && daemon.isAlive()) {
        for (JsonNode s : call("GET", "/v1/sandboxes", null).json().path("sandboxes")) call("DELETE", "/v1/sandboxes/" + s.path("id").asText(), null);
        daemon.destroy();
        daemon.waitFor();
      }
    } finally {
      if (dir != null) AtomicFiles.deleteTree(dir);
      dev.kiln.host.CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", NET_PREFIX + "_host"), Duration.ofSeconds(10));
    }
  }

  private static Process startDaemon() throws Exception {
    String javaBin = ProcessHandle.current().info().command().orElse("java");
    ProcessBuilder pb = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        "dev.kiln.cli.KilnCli", "daemon", "--config", config.toString())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("daemon.log").toFile()));
    pb.environment().put("KILN_API_KEY", KEY);
    Process p = pb.start();
    await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
        .until(() -> call("GET", "/healthz", null).status() == 200);
    return p;
  }

  private static TestHost.Reply call(String method, String path, Object body) throws Exception {
    HttpRequest.BodyPublisher pub = body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(TestHost.JSON.writeValueAsBytes(body));
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + KEY)
        .header("Content-Type", "application/json").method(method, pub).build(), HttpResponse.BodyHandlers.ofString());
    return new TestHost.Reply(r.statusCode(), r.body().isEmpty() ? TestHost.JSON.nullNode() : TestHost.JSON.readTree(r.body()), r.body());
  }

  private static String create() throws Exception {
    TestHost.Reply r = call("POST", "/v1/sandboxes", Map.of("template", "crash", "memoryMib", 256, "network", Map.of("mode", "internet")));
    assertEquals(201, r.status(), r.raw());
    return r.json().path("id").asText();
  }

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText();
  }

  private static long qemuPid(String id) throws Exception {
    return Long.parseLong(Files.readString(dir.resolve("data/sandboxes/" + id + "/qemu.pid")).strip());
  }

  @Test
  void afterAKill9TheNextDaemonReadoptsLiveSandboxesAndCleansUpDeadOnes() throws Exception {
    String kept = create();
    String dies = create();
    out(kept, "echo survived > /root/marker");
    String sleeper = out(kept, "sleep 1000 > /dev/null 2>&1 & echo $!").strip();
    out(kept, "mkdir -p /tmp/www && echo served > /tmp/www/index.html && (httpd -p 8080 -h /tmp/www)");
    TestHost.Reply bg = call("POST", "/v1/sandboxes/" + kept + "/processes", Map.of("command", "while true; do echo beat; sleep 0.2; done"));
    assertEquals(201, bg.status(), bg.raw());
    long bgPid = bg.json().path("pid").asLong();
    String address = call("GET", "/v1/sandboxes/" + kept, null).json().path("network").path("address").asText();
    assertEquals("served\n", page(address), "reachable at its address before the crash");
    String deadNetns = NET_PREFIX + "-" + slotOf(call("GET", "/v1/sandboxes/" + dies, null).json().path("network").path("address").asText());
    long keptQemu = qemuPid(kept);
    long deadQemu = qemuPid(dies);

    daemon.destroyForcibly(); // SIGKILL: no shutdown hook, no close()
    daemon.waitFor();
    assertTrue(ProcessHandle.of(keptQemu).map(ProcessHandle::isAlive).orElse(false), "VMs outlive a killed daemon");
    ProcessHandle.of(deadQemu).ifPresent(ProcessHandle::destroyForcibly); // and one VM dies while no daemon watches
    await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(deadQemu).isEmpty());

    daemon = startDaemon();
    assertEquals("running", call("GET", "/v1/sandboxes/" + kept, null).json().path("status").asText());
    assertEquals("survived\n", out(kept, "cat /root/marker"), "files survive");
    assertEquals("alive\n", out(kept, "kill -0 " + sleeper + " && echo alive"), "processes survive");
    assertEquals(keptQemu, qemuPid(kept), "the same QEMU, re-adopted");
    assertEquals("served\n", page(address), "its network survives: same namespace, same address, same rules");
    JsonNode adopted = call("GET", "/v1/sandboxes/" + kept + "/processes/" + bgPid, null).json();
    assertEquals("running", adopted.path("status").asText(), "a process started through the API survives too: " + adopted);
    assertTrue(adopted.path("adopted").asBoolean(), adopted.toString());
    await().atMost(Duration.ofSeconds(30)).until(() -> call("GET", "/v1/sandboxes/" + kept + "/processes/" + bgPid, null).json().path("outputBytes").asLong() > 0);
    assertTrue(namespaces().size() <= 2 + 2, "the killed daemon's spare namespaces were swept, not added to: " + namespaces());

    JsonNode gone = call("GET", "/v1/sandboxes/" + dies, null).json();
    assertEquals("error", gone.path("status").asText(), gone.toString());
    assertTrue(gone.path("error").asText().contains("re-adopt"), gone.toString());
    assertFalse(Files.exists(dir.resolve("data/sandboxes/" + dies)), "its run directory is removed");
    for (String id : List.of(kept, dies)) assertEquals(204, call("DELETE", "/v1/sandboxes/" + id, null).status());
    assertFalse(namespaces().contains(deadNetns), "a deleted sandbox's namespace goes with it");
    assertTrue(namespaces().size() <= 2, "only spares remain: " + namespaces());
  }

  /** The sandbox address is the .2 of its slot's /30 in 10.233.0.0/24. */
  private static int slotOf(String address) {
    return Integer.parseInt(address.substring(address.lastIndexOf('.') + 1)) / 4;
  }

  private static List<String> namespaces() throws Exception {
    try (var s = Files.list(Path.of("/run/netns"))) {
      return s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(NET_PREFIX + "-")).toList();
    }
  }

  private static String page(String address) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://" + address + ":8080/")).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }
}
