package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.bench.ThrowawayPostgres;
import dev.kiln.fixtures.LocalS3;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.net.NetworkService;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Live migration and drain between two nodes, each its own process, behind one control instance,
 * on a real PostgreSQL and a real S3 server (docs/adr/0019): a sandbox moves with its running
 * process (followed over a WebSocket), its files, its port-proxy route and its group peer; a
 * migration whose target VM is killed, or whose source node is killed, leaves the sandbox running
 * where it was; a drain moves every sandbox off a node.
 *
 * <p>It runs beside the other classes, its tests one after another (junit-platform.properties): its
 * cluster has a database, a bucket, node indexes (prefixes, pools, resolver ports) of its own.
 */
@Tag("system")
@Execution(ExecutionMode.CONCURRENT)
@ExtendWith(LocalS3.Extension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MigrationSystemTest {
  private static final String TEMPLATE = "busybox";
  @RegisterExtension
  static final LocalCluster.ReportOnFailure REPORT = new LocalCluster.ReportOnFailure(() -> MigrationSystemTest.cluster);
  private static ThrowawayPostgres postgres;
  private static LocalCluster cluster;
  private static LocalCluster.Daemon control;
  private static final List<LocalCluster.Daemon> nodes = new ArrayList<>();

  @BeforeAll
  static void up(LocalS3 s3) throws Exception {
    Optional<String> why = NetworkService.unavailableReason();
    assumeTrue(why.isEmpty(), () -> "MigrationSystemTest needs sandbox networking for its nodes: " + why.orElse(""));
    Optional<String> noPostgres = ThrowawayPostgres.unavailableReason();
    assumeTrue(noPostgres.isEmpty(), () -> "MigrationSystemTest needs PostgreSQL: " + noPostgres.orElse(""));
    postgres = ThrowawayPostgres.start(Path.of("/tmp"));
    cluster = LocalCluster.on(postgres, s3);
    // Indexes 4 and 5: prefixes, pools and resolver ports of their own, apart from ClusterSystemTest's.
    for (int i = 1; i <= 2; i++) nodes.add(cluster.node("node-" + i, 3 + i, true));
    control = cluster.control("control");
    for (LocalCluster.Daemon d : nodes) d.start();
    control.start();
    BusyboxRootfs.create(cluster.dir.resolve("rootfs"));
    await().pollInSameThread().atMost(Duration.ofSeconds(30)).until(() -> ok(control.poll("/v1/nodes"), 200).path("nodes").size() == 2);
    ok(control.call("POST", "/v1/templates", Map.of("name", TEMPLATE, "directory", cluster.dir.resolve("rootfs").toString(), "freeSpaceMib", 256)), 202);
    await().pollInSameThread().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
        .until(() -> ok(control.poll("/v1/templates/" + TEMPLATE), 200).path("status").asText().equals("ready"));
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (cluster != null) cluster.close();
    } finally {
      if (postgres != null) postgres.close();
    }
  }

  private static JsonNode ok(TestHost.Reply r, int status) {
    assertEquals(status, r.status(), r.raw());
    return r.json();
  }

  private static String nodeId(LocalCluster.Daemon n) throws Exception {
    for (JsonNode x : ok(control.call("GET", "/v1/nodes", null), 200).path("nodes")) {
      if (x.path("name").asText().equals(n.name)) return x.path("id").asText();
    }
    throw new AssertionError("no node " + n.name);
  }

  private static String create(LocalCluster.Daemon on, Map<String, Object> network) throws Exception {
    Map<String, Object> req = new LinkedHashMap<>(Map.of("template", TEMPLATE, "memoryMib", 128, "timeoutSeconds", 0, "node", on.name));
    if (network != null) req.put("network", network);
    return ok(control.call("POST", "/v1/sandboxes", req), 201).path("id").asText();
  }

  private static String exec(String id, String command) throws Exception {
    JsonNode r = ok(control.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command)), 200);
    assertEquals(0, r.path("exitCode").asInt(-1), r.toString());
    return r.path("stdout").asText();
  }

  /** Nothing of the sandbox on the node: no run directory, no QEMU naming it, no namespace slot holding it. */
  private static void holdsNothingOf(LocalCluster.Daemon n, String id) throws Exception {
    assertFalse(Files.exists(n.dataDir().resolve("sandboxes").resolve(id)), n.name + " still has the run directory of " + id);
    assertFalse(Files.exists(n.dataDir().resolve("checkpoints").resolve(id)), n.name + " still has checkpoints of " + id);
    var qemu = dev.kiln.host.CommandRunner.runAllowingFailure(List.of("pgrep", "-f", "qemu-system.*" + n.dataDir().resolve("sandboxes").resolve(id)),
        Duration.ofSeconds(10));
    assertEquals("", qemu.stdout().strip(), n.name + " still runs a QEMU of " + id);
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  @Order(1)
  void aRunningSandboxMovesWithItsProcessFilesPortRouteAndGroupPeer() throws Exception {
    LocalCluster.Daemon from = nodes.get(0);
    LocalCluster.Daemon to = nodes.get(1);
    Map<String, Object> net = Map.of("mode", "internet", "group", "movers");
    String id = create(from, net);
    String peer = create(from, net);
    String sum = exec(id, "head -c 5000000 /dev/urandom > /root/data.bin && sha256sum /root/data.bin | cut -d' ' -f1").strip();
    exec(id, "mkdir -p /tmp/www && echo page-of-" + id + " > /tmp/www/index.html");
    ok(control.call("POST", "/v1/sandboxes/" + id + "/processes", Map.of("command", "httpd -f -p 8080 -h /tmp/www")), 201);
    String token = ok(control.call("GET", "/v1/sandboxes/" + id, null), 200).path("network").path("accessToken").asText();
    String url = "http://127.0.0.1:" + control.proxyPort + "/v1/sandboxes/" + id + "/ports/8080/index.html";
    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> get(url, token).statusCode() == 200);
    assertEquals("1", exec(peer, "ping -c 1 -W 5 " + id + ".kiln.internal >/dev/null && echo 1").strip(), "the group peer answers before");

    long pid = startTicker(id);
    // Two clients: one speaking the WebSocket protocol itself, one the Java SDK (which re-attaches on its own).
    StringBuffer viaSdk = new StringBuffer();
    try (dev.kiln.sdk.Kiln kiln = new dev.kiln.sdk.Kiln(control.base(), cluster.key);
         ProcessFollower follower = new ProcessFollower(cluster.http(), "ws://127.0.0.1:" + control.port, cluster.key, id, pid);
         dev.kiln.sdk.CommandHandle sdk = dev.kiln.sdk.Sandbox.connect(kiln, id).commands()
             .connect(pid, 0, b -> viaSdk.append(new String(b, java.nio.charset.StandardCharsets.UTF_8)), b -> { })) {
      await().atMost(Duration.ofSeconds(60)).until(() -> follower.stdout().lines().count() >= 10);
      CliProcess.Run run = CliProcess.run(Map.of("KILN_URL", control.base(), "KILN_API_KEY", cluster.key), null,
          "sandbox", "migrate", id, "--node", to.name, "-o", "json");
      assertEquals(0, run.exit(), run.all());
      JsonNode moved = TestHost.JSON.readTree(run.out());
      assertEquals(nodeId(to), moved.path("toNode").asText(), moved.toString());
      assertTrue(moved.path("downtimeMs").asLong() >= 0 && moved.path("sentBytes").asLong() > 0, moved.toString());
      System.out.println("migrated: " + moved);
      long atMove = follower.stdout().lines().count();
      await().atMost(Duration.ofSeconds(60)).until(() -> follower.stdout().lines().count() >= atMove + 20);
      List<String> lines = follower.stdout().lines().toList();
      for (int i = 0; i < lines.size(); i++) assertEquals("line-" + i, lines.get(i), "every line once, in order (reattached " + follower.reattached() + ")");
      assertTrue(follower.reattached() >= 1, "the client was told to re-attach");
      await().atMost(Duration.ofSeconds(30)).until(() -> viaSdk.toString().lines().count() >= atMove + 20);
      List<String> sdkLines = viaSdk.toString().lines().toList();
      for (int i = 0; i < sdkLines.size(); i++) assertEquals("line-" + i, sdkLines.get(i), "the SDK's client too: every line once, in order");
    }
    JsonNode proc = ok(control.call("GET", "/v1/sandboxes/" + id + "/processes/" + pid, null), 200);
    assertEquals("running", proc.path("status").asText(), proc.toString());
    assertEquals(nodeId(to), ok(control.call("GET", "/v1/sandboxes/" + id, null), 200).path("node").asText());
    assertEquals(sum, exec(id, "sha256sum /root/data.bin | cut -d' ' -f1").strip(), "the file written before the move is intact");
    assertEquals("page-of-" + id, get(url, token).body().strip(), "the port-proxy route leads to the new node");
    assertEquals(nodeId(to), ok(control.call("GET", "/v1/sandboxes/" + peer, null), 200).path("node").asText(), "its group moved with it");
    assertEquals("1", exec(peer, "ping -c 1 -W 5 " + id + ".kiln.internal >/dev/null && echo 1").strip(), "the group peer answers after");
    holdsNothingOf(from, id);
    holdsNothingOf(from, peer);
    JsonNode events = ok(control.call("GET", "/v1/sandboxes/" + id + "/events", null), 200);
    assertTrue(events.toString().contains("\"migrated\""), events.toString());
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  @Order(2)
  void aMigrationWhoseTargetVmIsKilledLeavesTheSandboxRunningWhereItWas() throws Exception {
    LocalCluster.Daemon from = nodes.get(0);
    LocalCluster.Daemon to = nodes.get(1);
    String id = create(from, null);
    long pid = startTicker(id);
    try (ProcessFollower follower = new ProcessFollower(cluster.http(), "ws://127.0.0.1:" + control.port, cluster.key, id, pid)) {
      await().atMost(Duration.ofSeconds(60)).until(() -> follower.stdout().lines().count() >= 5);
      CompletableFuture<TestHost.Reply> migrating = migrateSlowly(id, to);
      Path pidFile = to.dataDir().resolve("sandboxes").resolve(id).resolve("qemu.pid");
      // QEMU makes its pid file and then writes it: the number, not the file, says it is there.
      await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
          .until(() -> sentBytes(id) > 0 && Files.exists(pidFile) && Files.readString(pidFile).strip().matches("\\d+"));
      dev.kiln.host.CommandRunner.run(List.of("kill", "-9", Files.readString(pidFile).strip()), Duration.ofSeconds(10));
      TestHost.Reply failed = migrating.get(3, TimeUnit.MINUTES);
      assertEquals(502, failed.status(), failed.raw());
      assertEquals("MIGRATION_FAILED", failed.json().path("error").path("code").asText(), failed.raw());
      JsonNode after = ok(control.call("GET", "/v1/sandboxes/" + id, null), 200);
      assertEquals(nodeId(from), after.path("node").asText());
      assertEquals("running", after.path("status").asText());
      assertEquals("ok\n", exec(id, "echo ok"));
      long atFailure = follower.stdout().lines().count();
      await().atMost(Duration.ofSeconds(60)).until(() -> follower.stdout().lines().count() >= atFailure + 10);
      List<String> lines = follower.stdout().lines().toList();
      for (int i = 0; i < lines.size(); i++) assertEquals("line-" + i, lines.get(i), "every line once, in order, on the source again");
    }
    assertEquals("running", ok(control.call("GET", "/v1/sandboxes/" + id + "/processes/" + pid, null), 200).path("status").asText());
    JsonNode events = ok(control.call("GET", "/v1/sandboxes/" + id + "/events", null), 200);
    assertTrue(events.toString().contains("migration-failed"), events.toString());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> holdsNothingOf(to, id));
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  @Order(3)
  void aMigrationWhoseSourceNodeIsKilledLeavesTheSandboxOnItsNodeWhichRunsItOnAfterARestart() throws Exception {
    LocalCluster.Daemon from = nodes.get(0);
    LocalCluster.Daemon to = nodes.get(1);
    String id = create(from, null);
    exec(id, "echo before > /root/mark && sync");
    long pid = startTicker(id);
    CompletableFuture<TestHost.Reply> migrating = migrateSlowly(id, to);
    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50)).until(() -> sentBytes(id) > 0);
    from.kill();
    TestHost.Reply cut = migrating.get(3, TimeUnit.MINUTES);
    assertEquals(502, cut.status(), cut.raw());
    // The target lets go of a stream cut short; the source's QEMU, its migration failed, runs the guest on.
    await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> holdsNothingOf(to, id));
    from.start();
    await().pollInSameThread().atMost(Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> ok(control.poll("/v1/sandboxes/" + id), 200).path("status").asText().equals("running"));
    assertEquals(nodeId(from), ok(control.call("GET", "/v1/sandboxes/" + id, null), 200).path("node").asText());
    assertEquals("before\n", exec(id, "cat /root/mark"));
    JsonNode proc = ok(control.call("GET", "/v1/sandboxes/" + id + "/processes/" + pid, null), 200);
    assertEquals("running", proc.path("status").asText(), proc.toString());
    long bytes = proc.path("outputBytes").asLong();
    await().pollInSameThread().atMost(Duration.ofSeconds(30))
        .until(() -> ok(control.poll("/v1/sandboxes/" + id + "/processes/" + pid), 200).path("outputBytes").asLong() > bytes);
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  @Order(4)
  void aDrainMovesEveryRunningPausedAndStoppedSandboxToTheOtherNode() throws Exception {
    LocalCluster.Daemon drained = nodes.get(0);
    LocalCluster.Daemon other = nodes.get(1);
    Map<String, String> marks = new LinkedHashMap<>();
    for (int i = 0; i < 8; i++) {
      String id = create(drained, i == 0 ? Map.of("mode", "internet") : null);
      exec(id, "echo mark-" + i + " > /root/mark && sync");
      marks.put(id, "mark-" + i);
    }
    List<String> ids = new ArrayList<>(marks.keySet());
    for (String id : ids.subList(5, 7)) ok(control.call("POST", "/v1/sandboxes/" + id + "/pause", null), 200);
    ok(control.call("POST", "/v1/sandboxes/" + ids.get(7) + "/stop", null), 200);
    // The sandboxes of earlier tests on this node go too.
    CliProcess.Run run = CliProcess.run(Map.of("KILN_URL", control.base(), "KILN_API_KEY", cluster.key), null, "node", "drain", nodeId(drained), "--wait");
    assertEquals(0, run.exit(), run.all());
    assertTrue(run.err().contains("moved"), "a progress line: " + run.err());
    JsonNode drain = ok(control.call("GET", "/v1/nodes/" + nodeId(drained), null), 200).path("drain");
    assertEquals("drained", drain.path("state").asText(), drain.toString());
    assertTrue(drain.path("running").path("moved").asInt() >= 5 && drain.path("saved").path("moved").asInt() == 3, drain.toString());
    JsonNode node = ok(control.call("GET", "/v1/nodes/" + nodeId(drained), null), 200);
    assertTrue(node.path("cordoned").asBoolean(), node.toString());
    for (var e : marks.entrySet()) {
      JsonNode s = ok(control.call("GET", "/v1/sandboxes/" + e.getKey(), null), 200);
      assertEquals(nodeId(other), s.path("node").asText(), s.toString());
      if (s.path("status").asText().equals("stopped")) ok(control.call("POST", "/v1/sandboxes/" + e.getKey() + "/start", null), 200);
      assertEquals(e.getValue() + "\n", exec(e.getKey(), "cat /root/mark"), "usable on the other node (a paused one resumes there, a stopped one starts)");
      holdsNothingOf(drained, e.getKey());
    }
    // Nothing of any sandbox is left on the drained node: it can be removed.
    try (var left = Files.list(drained.dataDir().resolve("sandboxes"))) {
      assertEquals(List.of(), left.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("sb-")).toList());
    }
  }

  /** A process that writes a numbered line every 100 ms. */
  private static long startTicker(String id) throws Exception {
    return ok(control.call("POST", "/v1/sandboxes/" + id + "/processes",
        Map.of("command", "i=0; while true; do echo line-$i; i=$((i+1)); sleep 0.1; done")), 201).path("pid").asLong();
  }

  /** A migration on a slow link, so that something can be killed while RAM is still being copied. */
  private static CompletableFuture<TestHost.Reply> migrateSlowly(String id, LocalCluster.Daemon to) {
    return CompletableFuture.supplyAsync(() -> call("POST", "/v1/sandboxes/" + id + "/migrate", Map.of("node", to.name, "maxBandwidthMiBps", 2)));
  }

  /** How far the RAM copy of the sandbox's migration under way is (0 before it streams, or with none under way). */
  private static long sentBytes(String id) throws Exception {
    return ok(control.call("GET", "/v1/sandboxes/" + id, null), 200).path("migration").path("sentBytes").asLong(0);
  }

  private static TestHost.Reply call(String method, String path, Object body) {
    try {
      return control.call(method, path, body);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static HttpResponse<String> get(String url, String token) throws Exception {
    return cluster.http().send(HttpRequest.newBuilder(URI.create(url)).header("X-Kiln-Access-Token", token).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
