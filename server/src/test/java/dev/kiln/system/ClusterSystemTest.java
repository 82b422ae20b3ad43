package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.fixtures.LocalS3;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.net.NetworkService;
import dev.kiln.bench.ThrowawayPostgres;
import dev.kiln.cluster.ClusterTtl;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Two control instances and three nodes, each its own process, on a real PostgreSQL and a real S3
 * server (docs/adr/0017). What a client does through either control instance reaches the sandbox
 * on whichever node runs it; a node's own API takes only the control plane; a node killed with
 * SIGKILL has its sandboxes shown lost while the others serve on; the leading control instance
 * killed hands its jobs to the other, whose TTL reaper then expires a sandbox. The crashes run
 * last, in order.
 */
@Tag("system")
@ExtendWith(LocalS3.Extension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterSystemTest {
  @RegisterExtension
  static final LocalCluster.ReportOnFailure REPORT = new LocalCluster.ReportOnFailure(() -> ClusterSystemTest.cluster);
  private static final String TEMPLATE = "busybox";
  private static ThrowawayPostgres postgres;
  private static LocalCluster cluster;
  private static LocalCluster.Daemon controlA;
  private static LocalCluster.Daemon controlB;
  private static final List<LocalCluster.Daemon> nodes = new ArrayList<>();
  /** Sandbox id → the name of the node it runs on. */
  private static final Map<String, String> placed = new LinkedHashMap<>();

  @BeforeAll
  static void up(LocalS3 s3) throws Exception {
    Optional<String> why = NetworkService.unavailableReason();
    assumeTrue(why.isEmpty(), () -> "ClusterSystemTest needs sandbox networking for its nodes: " + why.orElse(""));
    // A server of its own: five daemons' connection pools, and a database no other test class's connections count against.
    Optional<String> noPostgres = ThrowawayPostgres.unavailableReason();
    assumeTrue(noPostgres.isEmpty(), () -> "ClusterSystemTest needs PostgreSQL: " + noPostgres.orElse(""));
    postgres = ThrowawayPostgres.start(Path.of("/tmp"));
    cluster = LocalCluster.on(postgres, s3);
    for (int i = 1; i <= 3; i++) nodes.add(cluster.node("node-" + i, i, true));
    controlA = cluster.control("control-a");
    controlB = cluster.control("control-b");
    for (LocalCluster.Daemon d : nodes) d.start();
    controlA.start();
    controlB.start();
    // With bash: the E2B SDK runs every command as bash -l -c (theE2bSdkSuitePassesThroughAControlInstance).
    BusyboxRootfs.createWithBash(cluster.dir.resolve("rootfs"));
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (cluster != null) cluster.close();
    } finally {
      if (postgres != null) postgres.close();
    }
  }

  private static LocalCluster.Daemon control(int i) {
    return i % 2 == 0 ? controlA : controlB;
  }

  private static JsonNode ok(TestHost.Reply r, int status) {
    assertEquals(status, r.status(), r.raw());
    return r.json();
  }

  @Test
  @Order(1)
  void aTemplateBuiltThroughOneControlInstanceIsReadyThroughTheOther() throws Exception {
    await().pollInSameThread().atMost(Duration.ofSeconds(30)).until(() -> ok(controlB.poll("/v1/nodes"), 200).path("nodes").size() == 3);
    ok(controlA.call("POST", "/v1/templates", Map.of("name", TEMPLATE, "directory", cluster.dir.resolve("rootfs").toString(), "freeSpaceMib", 256)), 202);
    await().pollInSameThread().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
        .until(() -> ok(controlB.poll("/v1/templates/" + TEMPLATE), 200).path("status").asText().equals("ready"));
  }

  @Test
  @Order(2)
  void sandboxesCreatedThroughAlternatingControlInstancesSpreadOverEveryNode() throws Exception {
    for (int i = 0; i < 12; i++) {
      JsonNode s = ok(control(i).call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128, "timeoutSeconds", 0)), 201);
      placed.put(s.path("id").asText(), nodeName(s.path("node").asText()));
    }
    assertEquals(Set.of("node-1", "node-2", "node-3"), new HashSet<>(placed.values()), "placed: " + placed);
    // The template was built on one node; every other node pulled its image from the bucket to boot from it.
    for (LocalCluster.Daemon n : nodes) {
      try (var images = Files.list(n.dataDir().resolve("artifacts/images"))) {
        assertTrue(images.anyMatch(d -> Files.exists(d.resolve("rootfs.ext4"))), n.name + " has the template's image");
      }
    }
  }

  @Test
  @Order(3)
  void aNodeSelectorPlacesOnANodeWithItsLabelsOrSaysThatNoneHasThem() throws Exception {
    JsonNode s = ok(controlA.call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128, "nodeSelector", Map.of("zone", "z2"))), 201);
    assertEquals("node-2", nodeName(s.path("node").asText()));
    ok(controlA.call("DELETE", "/v1/sandboxes/" + s.path("id").asText(), null), 204);
    TestHost.Reply none = controlB.call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "nodeSelector", Map.of("zone", "nowhere")));
    assertEquals(503, none.status(), none.raw());
    assertEquals("NO_NODE_AVAILABLE", none.json().path("error").path("code").asText());
    assertTrue(none.json().path("error").path("message").asText().contains("carries the labels {zone=nowhere}"), none.raw());
  }

  private static String nodeName(String id) throws Exception {
    for (JsonNode n : ok(controlA.call("GET", "/v1/nodes", null), 200).path("nodes")) {
      if (n.path("id").asText().equals(id)) return n.path("name").asText();
    }
    throw new AssertionError("no node " + id);
  }

  @Test
  @Order(4)
  void execReachesEverySandboxThroughEitherControlInstance() throws Exception {
    for (String id : placed.keySet()) {
      for (int c = 0; c < 2; c++) {
        JsonNode r = ok(control(c).call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo $((20+22)) on $(hostname)")), 200);
        assertEquals("42 on " + id + "\n", r.path("stdout").asText(), "through control " + c + " to " + placed.get(id));
      }
    }
  }

  @Test
  @Order(5)
  void aProcessStreamsOverAWebSocketThroughTheControlInstance() throws Exception {
    for (String id : onePerNode()) streamsOverAWebSocket(id);
  }

  @Test
  @Order(5)
  void theWebConsoleAndItsBrowserCallsWorkThroughAControlInstance() throws Exception {
    java.net.http.HttpClient http = cluster.http();
    var page = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(controlA.base() + "/console/")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, page.statusCode());
    assertTrue(page.headers().firstValue("Content-Security-Policy").orElseThrow().contains("script-src 'self'"));
    // A browser's call from the console's own page names the control instance as its origin; the node behind it must not see that origin.
    String id = placed.keySet().iterator().next();
    var exec = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(controlA.base() + "/v1/sandboxes/" + id + "/exec"))
        .header("Authorization", "Bearer " + cluster.key).header("Origin", controlA.base()).header("Sec-Fetch-Site", "same-origin")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"command\":\"echo same-origin\"}")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, exec.statusCode(), exec.body());
    var elsewhere = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(controlA.base() + "/v1/sandboxes/" + id + "/exec"))
        .header("Authorization", "Bearer " + cluster.key).header("Origin", "http://evil.example")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"command\":\"true\"}")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(403, elsewhere.statusCode(), elsewhere.body());
    // The live list through the other control instance: its first event lists every node's sandboxes.
    var watch = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(controlB.base() + "/v1/sandboxes?watch=true"))
        .header("Authorization", "Bearer " + cluster.key).build(), java.net.http.HttpResponse.BodyHandlers.ofLines());
    assertEquals(200, watch.statusCode());
    try (java.util.stream.Stream<String> lines = watch.body()) {
      String first = lines.filter(l -> l.startsWith("data: ")).findFirst().orElseThrow();
      JsonNode listed = TestHost.JSON.readTree(first.substring(6)).path("sandboxes");
      for (String sb : placed.keySet()) {
        assertTrue(listed.toString().contains(sb), sb + " is in the first event: " + first);
      }
    }
  }

  /** A sandbox on each node. */
  private static List<String> onePerNode() {
    Map<String, String> byNode = new LinkedHashMap<>();
    placed.forEach((id, node) -> byNode.putIfAbsent(node, id));
    return List.copyOf(byNode.values());
  }

  private static void streamsOverAWebSocket(String id) throws Exception {
    JsonNode p = ok(controlA.call("POST", "/v1/sandboxes/" + id + "/processes", Map.of("command", "for i in 1 2 3; do echo line$i; done")), 201);
    long pid = p.path("pid").asLong();
    try (ProcessFollower follower = new ProcessFollower(cluster.http(), "ws://127.0.0.1:" + controlB.port, cluster.key, id, pid)) {
      String ended = follower.exit().get(60, TimeUnit.SECONDS);
      assertTrue(ended.contains("\"exitCode\":0"), ended);
      assertEquals("line1\nline2\nline3\n", follower.stdout());
    }
  }

  @Test
  @Order(6)
  void aHundredMibFileMakesTheRoundTripThroughBothControlInstances() throws Exception {
    for (String id : onePerNode()) roundTrip(id);
  }

  private static void roundTrip(String id) throws Exception {
    Path big = cluster.dir.resolve("big.bin");
    byte[] chunk = new byte[1 << 20];
    java.util.Random random = new java.util.Random(7);
    MessageDigest sent = MessageDigest.getInstance("SHA-256");
    try (var out = Files.newOutputStream(big)) {
      for (int i = 0; i < 100; i++) {
        random.nextBytes(chunk);
        sent.update(chunk);
        out.write(chunk);
      }
    }
    HttpResponse<String> put = cluster.http().send(HttpRequest.newBuilder(URI.create(controlA.base() + "/v1/sandboxes/" + id + "/files?path=/root/big.bin"))
        .header("Authorization", "Bearer " + cluster.key).PUT(HttpRequest.BodyPublishers.ofFile(big)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, put.statusCode(), put.body());
    assertEquals(100L << 20, TestHost.JSON.readTree(put.body()).path("bytesWritten").asLong());
    HttpResponse<InputStream> get = cluster.http().send(HttpRequest.newBuilder(URI.create(controlB.base() + "/v1/sandboxes/" + id + "/files?path=/root/big.bin"))
        .header("Authorization", "Bearer " + cluster.key).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, get.statusCode());
    MessageDigest got = MessageDigest.getInstance("SHA-256");
    long n = 0;
    try (InputStream in = get.body()) {
      byte[] buf = new byte[1 << 16];
      for (int r; (r = in.read(buf)) > 0; n += r) got.update(buf, 0, r);
    }
    assertEquals(100L << 20, n);
    assertEquals(java.util.HexFormat.of().formatHex(sent.digest()), java.util.HexFormat.of().formatHex(got.digest()));
  }

  @Test
  @Order(7)
  void aGuestPortIsReachableThroughEitherControlInstancesPortProxy() throws Exception {
    for (LocalCluster.Daemon n : nodes) {
      JsonNode s = ok(controlA.call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128, "timeoutSeconds", 0, "node", n.name,
          "network", Map.of("mode", "internet"))), 201);
      String id = s.path("id").asText();
      placed.put(id, n.name);
      ok(controlA.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "mkdir -p /tmp/www && echo page-of-" + id + " > /tmp/www/index.html")), 200);
      ok(controlB.call("POST", "/v1/sandboxes/" + id + "/processes", Map.of("command", "httpd -f -p 8080 -h /tmp/www")), 201);
      String token = s.path("network").path("accessToken").asText();
      for (LocalCluster.Daemon c : List.of(controlA, controlB)) {
        String url = "http://127.0.0.1:" + c.proxyPort + "/v1/sandboxes/" + id + "/ports/8080/index.html";
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> get(url, token).statusCode() == 200);
        assertEquals("page-of-" + id, get(url, token).body().strip(), "through " + c.name + " to " + n.name);
        assertEquals(403, get(url, "wrong-token").statusCode(), "the node checks the sandbox's token behind the control instance");
      }
    }
  }

  private static HttpResponse<String> get(String url, String token) throws Exception {
    return cluster.http().send(HttpRequest.newBuilder(URI.create(url)).header("X-Kiln-Access-Token", token).timeout(Duration.ofSeconds(20)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @Order(8)
  void aNodeTakesOnlyTheControlPlaneNeverAUsersKey() throws Exception {
    LocalCluster.Daemon node = nodes.getFirst();
    TestHost.Reply r = cluster.call(node.base(), cluster.key, "GET", "/v1/sandboxes", null);
    assertEquals(401, r.status(), r.raw());
    assertEquals("UNAUTHORIZED", r.json().path("error").path("code").asText());
    assertTrue(r.json().path("error").path("message").asText().contains("answers only the cluster's control instances"), r.raw());
    String id = placed.entrySet().stream().filter(e -> e.getValue().equals(node.name)).map(Map.Entry::getKey).findFirst().orElseThrow();
    HttpResponse<String> proxied = get("http://127.0.0.1:" + node.proxyPort + "/v1/sandboxes/" + id + "/ports/8080/", "any");
    assertEquals(403, proxied.statusCode(), proxied.body());
    assertTrue(proxied.body().contains("only the cluster's control instances"), proxied.body());
  }

  /** A user's key is checked by the control instance and carried to the node as the caller, which owns and filters by it. */
  @Test
  @Order(8)
  void aUserKeySeesOnlyItsOwnSandboxesThroughEitherControlInstance() throws Exception {
    JsonNode key = ok(controlA.call("POST", "/v1/keys", Map.of("name", "cluster-user", "maxSandboxes", 1)), 201);
    String secret = key.path("key").asText();
    JsonNode mine = ok(cluster.call(controlB.base(), secret, "POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128)), 201);
    String id = mine.path("id").asText();
    TestHost.Reply second = cluster.call(controlA.base(), secret, "POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128));
    assertEquals(429, second.status(), "the node counted the key's sandbox, whichever control instance it came through: " + second.raw());
    JsonNode listed = ok(cluster.call(controlA.base(), secret, "GET", "/v1/sandboxes", null), 200);
    assertEquals(1, listed.path("sandboxes").size(), listed.toString());
    assertEquals(id, listed.path("sandboxes").get(0).path("id").asText());
    assertEquals("hi\n", ok(cluster.call(controlA.base(), secret, "POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo hi")), 200)
        .path("stdout").asText());
    String others = placed.keySet().iterator().next();
    TestHost.Reply other = cluster.call(controlB.base(), secret, "POST", "/v1/sandboxes/" + others + "/exec", Map.of("command", "true"));
    assertEquals(404, other.status(), other.raw());
    assertEquals(403, cluster.call(controlA.base(), secret, "GET", "/v1/nodes", null).status());
    ok(cluster.call(controlB.base(), secret, "DELETE", "/v1/sandboxes/" + id, null), 204);
  }

  /**
   * E2B's API through a control instance (docs/e2b.md): the unmodified SDK's suite, every request
   * carried to the node that runs its sandbox, a list gathered from every node.
   */
  @Test
  @Order(8)
  void theE2bSdkSuitePassesThroughAControlInstance() throws Exception {
    E2bSuite.run(Map.of("E2B_API_KEY", cluster.key, "E2B_API_URL", controlA.base(), "E2B_SANDBOX_URL", controlA.base(), "KILN_E2B_TEMPLATE", TEMPLATE));
  }

  @Test
  @Order(9)
  void aWarmPoolsSizeIsTheClustersEachNodeKeepingItsShare() throws Exception {
    JsonNode pool = ok(controlA.call("PUT", "/v1/pools/" + TEMPLATE, Map.of("minReady", 3, "maxReady", 3)), 200);
    assertEquals(3, pool.path("minReady").asInt(), pool.toString());
    for (LocalCluster.Daemon n : nodes) {
      // Each node keeps one of the three: a create placed on it takes that one once it is ready.
      await().pollInSameThread().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofSeconds(1)).until(() -> {
        JsonNode s = ok(controlB.call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "node", n.name, "timeoutSeconds", 0)), 201);
        String id = s.path("id").asText();
        boolean claimed = ok(controlB.poll("/v1/sandboxes/" + id + "/events"), 200).toString().contains("claimed from the warm pool");
        ok(controlB.call("DELETE", "/v1/sandboxes/" + id, null), 204);
        return claimed;
      });
    }
    ok(controlB.call("DELETE", "/v1/pools/" + TEMPLATE, null), 204);
  }

  @Test
  @Order(10)
  void aForkOfACheckpointLandsOnAnotherNodeWithTheCheckpointsFiles() throws Exception {
    String source = placed.entrySet().stream().filter(e -> e.getValue().equals("node-1")).map(Map.Entry::getKey).findFirst().orElseThrow();
    ok(controlA.call("POST", "/v1/sandboxes/" + source + "/exec", Map.of("command", "echo from-the-checkpoint > /root/marker")), 200);
    ok(controlA.call("POST", "/v1/sandboxes/" + source + "/checkpoints", Map.of("name", "cp1")), 201);
    JsonNode forks = ok(controlB.call("POST", "/v1/sandboxes/" + source + "/fork", Map.of("checkpoint", "cp1", "node", "node-2", "count", 1)), 201);
    JsonNode fork = forks.path("sandboxes").get(0);
    assertEquals("node-2", nodeName(fork.path("node").asText()));
    String id = fork.path("id").asText();
    assertEquals("from-the-checkpoint\n", ok(controlA.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "cat /root/marker")), 200)
        .path("stdout").asText());
    ok(controlA.call("DELETE", "/v1/sandboxes/" + id, null), 204);
    // A checkpoint name goes into the control plane's call to the other node: one that would make it another route is refused.
    TestHost.Reply crafted = controlB.call("POST", "/v1/sandboxes/" + source + "/fork", Map.of("checkpoint", "x/../../" + source + "/adopt?", "node", "node-2"));
    assertEquals(400, crafted.status(), crafted.raw());
    assertEquals("INVALID_REQUEST", crafted.json().path("error").path("code").asText());
  }

  @Test
  @Order(11)
  void aNodeKilledHasItsSandboxesLostWhileTheOthersServeAndGetsThemBackWhenItReturns() throws Exception {
    LocalCluster.Daemon victim = nodes.get(2);
    List<String> onVictim = placed.entrySet().stream().filter(e -> e.getValue().equals(victim.name)).map(Map.Entry::getKey).toList();
    List<String> elsewhere = placed.entrySet().stream().filter(e -> !e.getValue().equals(victim.name)).map(Map.Entry::getKey).toList();
    // One more on the victim, by name, paused with a file and a process counting in the background.
    String paused = ok(controlA.call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128, "timeoutSeconds", 0, "node", victim.name)), 201)
        .path("id").asText();
    ok(controlA.call("POST", "/v1/sandboxes/" + paused + "/exec", Map.of("command", "echo kept > /root/kept")), 200);
    ok(controlA.call("POST", "/v1/sandboxes/" + paused + "/processes",
        // Written aside and renamed: a read never finds the file truncated and not yet written.
        Map.of("command", "i=0; while true; do i=$((i+1)); echo $i > /root/counter.new; mv /root/counter.new /root/counter; sleep 1; done")), 201);
    await().pollInSameThread().atMost(Duration.ofSeconds(20)).until(() -> counter(paused) > 0);
    ok(controlB.call("POST", "/v1/sandboxes/" + paused + "/pause", null), 200);
    victim.kill();
    String lost = onVictim.getFirst();
    await().pollInSameThread().atMost(LocalCluster.NODE_DOWN_AFTER.multipliedBy(4)).pollInterval(Duration.ofMillis(250))
        .until(() -> ok(controlB.poll("/v1/sandboxes/" + lost), 200).path("status").asText().equals("lost"));
    JsonNode events = ok(controlA.call("GET", "/v1/sandboxes/" + lost + "/events", null), 200);
    assertTrue(events.toString().contains("\"lost\""), events.toString());
    TestHost.Reply exec = controlA.call("POST", "/v1/sandboxes/" + lost + "/exec", Map.of("command", "true"));
    assertEquals(503, exec.status(), exec.raw());
    assertEquals("SANDBOX_LOST", exec.json().path("error").path("code").asText());
    for (String id : elsewhere) {
      assertEquals("ok\n", ok(controlB.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo ok")), 200).path("stdout").asText());
    }
    JsonNode fresh = ok(controlA.call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128)), 201);
    assertNotEquals(victim.name, nodeName(fresh.path("node").asText()), "nothing is placed on a node that is down");
    ok(controlA.call("DELETE", "/v1/sandboxes/" + fresh.path("id").asText(), null), 204);

    // The paused one resumes on another node, from its state in the bucket, with its file and its process.
    JsonNode resumed = ok(controlB.call("POST", "/v1/sandboxes/" + paused + "/resume", null), 200);
    assertNotEquals(victim.name, nodeName(resumed.path("node").asText()));
    assertEquals("running", resumed.path("status").asText());
    assertEquals("kept\n", ok(controlA.call("POST", "/v1/sandboxes/" + paused + "/exec", Map.of("command", "cat /root/kept")), 200).path("stdout").asText());
    long before = counter(paused);
    await().pollInSameThread().atMost(Duration.ofSeconds(20)).until(() -> counter(paused) > before);

    victim.start();
    await().pollInSameThread().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250))
        .until(() -> ok(controlB.poll("/v1/sandboxes/" + lost), 200).path("status").asText().equals("running"));
    assertEquals("back\n", ok(controlA.call("POST", "/v1/sandboxes/" + lost + "/exec", Map.of("command", "echo back")), 200).path("stdout").asText(),
        "the restarted node re-adopted the VM it left running");
    assertNotEquals(victim.name, nodeName(ok(controlA.call("GET", "/v1/sandboxes/" + paused, null), 200).path("node").asText()),
        "the node that came back leaves the sandbox another node took over");
    assertEquals("kept\n", ok(controlA.call("POST", "/v1/sandboxes/" + paused + "/exec", Map.of("command", "cat /root/kept")), 200).path("stdout").asText());
  }

  private static long counter(String id) throws Exception {
    String out = ok(controlA.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "cat /root/counter 2>/dev/null || echo 0")), 200)
        .path("stdout").asText();
    return Long.parseLong(out.strip());
  }

  @Test
  @Order(12)
  void theLeadingControlInstanceKilledHandsItsTtlReaperToTheOther() throws Exception {
    await().pollInSameThread().atMost(Duration.ofSeconds(30)).until(() -> leaderOf(controlA, ClusterTtl.JOB).isPresent());
    String leader = leaderOf(controlA, ClusterTtl.JOB).orElseThrow();
    LocalCluster.Daemon leading = leaderIs(controlA, leader) ? controlA : controlB;
    LocalCluster.Daemon other = leading == controlA ? controlB : controlA;
    String id = ok(other.call("POST", "/v1/sandboxes", Map.of("template", TEMPLATE, "memoryMib", 128, "timeoutSeconds", 3)), 201).path("id").asText();
    leading.kill();
    // Its lease lapses within its term (10 s) of its last renewal, and the other takes it at its next pass, a second later at most.
    await().pollInSameThread().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
        .until(() -> leaderOf(other, ClusterTtl.JOB).filter(l -> !l.equals(leader)).isPresent());
    assertTrue(leaderIs(other, leaderOf(other, ClusterTtl.JOB).orElseThrow()), "the surviving control instance leads the job");
    await().pollInSameThread().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
        .until(() -> other.poll("/v1/sandboxes/" + id).status() == 404);
    assertEquals("SANDBOX_EXPIRED", other.poll("/v1/sandboxes/" + id).json().path("error").path("code").asText());
  }

  /** The instance holding {@code job}'s lease, as a control instance's /v1/cluster shows it. */
  private static Optional<String> leaderOf(LocalCluster.Daemon control, String job) throws Exception {
    for (JsonNode l : ok(control.poll("/v1/cluster"), 200).path("leaders")) {
      if (l.path("job").asText().equals(job)) return Optional.of(l.path("node").asText());
    }
    return Optional.empty();
  }

  /** Whether the control instance's log names {@code instance} as itself. */
  private static boolean leaderIs(LocalCluster.Daemon control, String instance) throws Exception {
    return Files.readString(cluster.dir.resolve(control.name + ".log")).contains("kiln control instance=" + instance);
  }
}
