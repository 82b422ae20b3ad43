package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.config.NetworkConfig;
import dev.kiln.net.NetworkService;
import dev.kiln.net.dns.TestZoneServer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Sandbox networking end to end with real VMs, namespaces, nftables, tc and DNS: the test's own
 * "internet" (a namespace with an HTTP server) and DNS zone stand in for the world; nothing leaves
 * this machine.
 */
@Tag("system")
class NetworkSystemTest {
  private static final String PREFIX = "kt";
  private static TestHost host;
  private static TestInternet internet;
  private static TestZoneServer zone;

  @BeforeAll
  static void up() throws Exception {
    Optional<String> why = NetworkService.unavailableReason();
    if (why.isPresent()) System.out.println("NetworkSystemTest skipped: " + why.get());
    assumeTrue(why.isEmpty());
    zone = TestZoneServer.start(Map.of("allowed.test", List.of(TestInternet.SERVER), "denied.test", List.of(TestInternet.OTHER_SERVER),
        "other.test", List.of(TestInternet.OTHER_SERVER), "rebind.test", List.of(TestInternet.PRIVATE_SERVER)));
    NetworkConfig net = NetworkConfig.DEFAULT.with(true, "10.231.0.0/24", PREFIX, 7853, "127.0.0.1:0",
        List.of("127.0.0.1:" + zone.address().getPort()));
    host = TestHost.startNetworked(net);
    internet = TestInternet.start(host.dir);
    host.awaitTemplateSnapshot();
    org.awaitility.Awaitility.await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200))
        .until(() -> host.snapshotDir(true).isPresent());
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
    if (internet != null) internet.close();
    if (zone != null) zone.close();
    // The daemon keeps its host table for the sandboxes it leaves running; this test leaves none.
    dev.kiln.host.CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", PREFIX + "_host"), Duration.ofSeconds(10));
  }

  private static String create(Map<String, Object> network) throws Exception {
    return host.createSandbox(Map.of("template", TestHost.TEMPLATE, "network", network));
  }

  private static JsonNode exec(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command, "timeoutSeconds", 60));
    assertEquals(200, r.status(), r.raw());
    return r.json();
  }

  /** Exit code of a wget with a short timeout: 0 when the URL answered. */
  private static int fetch(String id, String url) throws Exception {
    JsonNode r = exec(id, "timeout 6 wget -q -O /dev/null " + url);
    if (r.path("exitCode").asInt(-1) != 0) System.out.println("fetch " + url + " from " + id + ": " + r);
    return r.path("exitCode").asInt(-1);
  }

  @Test
  void aSecondDaemonOnTheSamePoolIsRefusedNamingTheTableInTheWay() {
    // What broke this suite once: a developer's daemon with another prefix, left running (or its table left) on this same pool.
    NetworkConfig other = NetworkConfig.DEFAULT.with(true, "10.231.0.0/24", "kzz", 7899, "127.0.0.1:0", List.of("127.0.0.1:1"));
    java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
        () -> NetworkService.start(other, "", java.util.Set.of(), new dev.kiln.net.EgressDenials() {
          @Override
          public void denied(String sandboxId, String name) {}

          @Override
          public void refused(String sandboxId, long packets) {}
        }).close());
    assertTrue(e.getMessage().contains("'ip " + PREFIX + "_host'") && e.getMessage().contains("10.231.0.0/24"), e.getMessage());
    assertEquals("", dev.kiln.host.CommandRunner.runAllowingFailure(List.of("nft", "list", "tables"), Duration.ofSeconds(10)).stdout().lines()
        .filter(l -> l.contains("kzz")).findFirst().orElse(""), "the refused daemon left no table");
  }

  @Test
  void modeNoneHasNoNetworkDevice() throws Exception {
    String id = create(Map.of("mode", "none"));
    assertEquals("lo", exec(id, "ls /sys/class/net").path("stdout").asText().strip());
    assertEquals("none", host.call("GET", "/v1/sandboxes/" + id, null).json().path("network").path("mode").asText());
  }

  @Test
  void clonesOfOneSnapshotEachReachTheInternetWithSeparateNetworks() throws Exception {
    String a = create(Map.of("mode", "internet"));
    String b = create(Map.of("mode", "internet"));
    for (String id : List.of(a, b)) {
      JsonNode sb = host.call("GET", "/v1/sandboxes/" + id, null).json();
      assertEquals("snapshot", sb.path("startedFrom").asText(), "restored from the networked snapshot, not booted");
      assertTrue(exec(id, "ip -4 addr show eth0").path("stdout").asText().contains("192.168.127.2/30"), "same guest address in every clone");
      assertEquals(TestInternet.GREETING, exec(id, "timeout 6 wget -q -O - http://" + TestInternet.SERVER + "/").path("stdout").asText().strip());
    }
    assertNotEquals(host.call("GET", "/v1/sandboxes/" + a, null).json().path("network").path("address").asText(),
        host.call("GET", "/v1/sandboxes/" + b, null).json().path("network").path("address").asText(), "each clone has its own outside address");
  }

  @Test
  void privateLinkLocalAndHostAddressesAreUnreachable() throws Exception {
    String id = create(Map.of("mode", "internet", "denyOut", List.of(TestInternet.OTHER_SERVER)));
    int apiPort = host.daemon.port();
    String hostSide = host.call("GET", "/v1/sandboxes/" + id, null).json().path("network").path("address").asText().replaceAll("\\.\\d+$", ".1");
    assertNotEquals(0, fetch(id, "http://" + TestInternet.OTHER_SERVER + "/"), "a denied CIDR");
    assertNotEquals(0, fetch(id, "http://169.254.169.254/latest/meta-data/"), "the metadata address");
    assertNotEquals(0, fetch(id, "http://" + hostSide + ":" + apiPort + "/healthz"), "the API through the host end of the sandbox's veth");
    for (java.net.NetworkInterface nif : java.net.NetworkInterface.networkInterfaces().toList()) {
      for (var a : nif.getInterfaceAddresses()) {
        if (a.getAddress() instanceof java.net.Inet4Address v4 && !v4.isLoopbackAddress()) {
          assertNotEquals(0, fetch(id, "http://" + v4.getHostAddress() + ":" + apiPort + "/healthz"), "the host's own address " + v4);
        }
      }
    }
    assertEquals(0, fetch(id, "http://" + TestInternet.SERVER + "/"), "what is not denied still works");
    String everything = create(Map.of("mode", "internet", "allowOut", List.of("0.0.0.0/0")));
    JsonNode metadata = exec(everything, "timeout 6 wget -q -O /dev/null http://169.254.169.254/");
    assertTrue(metadata.path("stderr").asText().contains("refused"), "no allow list opens the metadata address: " + metadata);
    String closed = create(Map.of("mode", "internet", "denyOut", List.of("0.0.0.0/0")));
    assertNotEquals(0, exec(closed, "nslookup allowed.test").path("exitCode").asInt(-1), "a closed sandbox gets no recursive DNS (no channel out)");
  }

  @Test
  void domainRulesAreEnforcedByTheResolverAndTheFirewall() throws Exception {
    String id = create(Map.of("mode", "internet", "allowOut", List.of("allowed.test")));
    assertEquals(TestInternet.GREETING, exec(id, "timeout 6 wget -q -O - http://allowed.test/").path("stdout").asText().strip());
    assertNotEquals(0, exec(id, "nslookup denied.test").path("exitCode").asInt(-1), "a name off the list does not resolve");
    assertNotEquals(0, fetch(id, "http://" + TestInternet.OTHER_SERVER + "/"), "a raw IP no allowed name resolved to");
    // An allowed name that resolves to a private address (DNS rebinding) opens nothing.
    assertNotEquals(0, exec(id, "nslookup rebind.test").path("exitCode").asInt(-1), "not on the list yet, so not resolved");
    host.call("PUT", "/v1/sandboxes/" + id + "/network", Map.of("allowOut", List.of("allowed.test", "rebind.test")));
    JsonNode rebound = exec(id, "timeout 6 wget -q -O /dev/null http://rebind.test/");
    assertTrue(rebound.path("stderr").asText().contains("refused"), "refused by the namespace's blocked ranges: " + rebound);
    host.call("PUT", "/v1/sandboxes/" + id + "/network", Map.of("allowOut", List.of("allowed.test", "rebind.test", TestInternet.PRIVATE_SERVER)));
    assertEquals(0, fetch(id, "http://rebind.test/"), "an explicit CIDR opens a private address");
    // Rules change while it runs.
    TestHost.Reply r = host.call("PUT", "/v1/sandboxes/" + id + "/network", Map.of("allowOut", List.of("allowed.test", "*.test")));
    assertEquals(200, r.status(), r.raw());
    assertEquals(0, fetch(id, "http://other.test/"));
    // An open sandbox with a denied domain.
    String open = create(Map.of("mode", "internet", "denyOut", List.of("denied.test")));
    assertNotEquals(0, fetch(open, "http://denied.test/"));
    assertEquals(0, fetch(open, "http://allowed.test/"));
    assertTrue(zone.asked().stream().noneMatch(n -> n.equals("denied.test")), "a denied name never reaches the upstream: " + zone.asked());

    // The audit trail has the denial and every change of the rules.
    host.daemon().audit().flush(Duration.ofSeconds(30));
    JsonNode trail = host.call("GET", "/v1/audit?sandbox=" + id, null).json().path("records");
    List<JsonNode> denials = new java.util.ArrayList<>();
    List<JsonNode> changes = new java.util.ArrayList<>();
    trail.forEach(n -> {
      if (n.path("action").asText().equals("dns.denied")) denials.add(n);
      if (n.path("action").asText().equals("PUT /v1/sandboxes/{id}/network")) changes.add(n);
    });
    assertEquals("denied.test", denials.getFirst().path("detail").path("name").asText(), trail.toString());
    assertEquals("guest", denials.getFirst().path("actor").asText());
    assertEquals(3, changes.size(), trail.toString());
    assertEquals(List.of("allowed.test", "*.test"), List.of(changes.get(2).path("detail").path("allowOut").get(0).asText(),
        changes.get(2).path("detail").path("allowOut").get(1).asText()));
    // Packets the firewall refused (the raw IP above) are counted, and told when the network goes.
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
    host.daemon().audit().flush(Duration.ofSeconds(30));
    List<JsonNode> refused = new java.util.ArrayList<>();
    host.call("GET", "/v1/audit?sandbox=" + id, null).json().path("records").forEach(n -> {
      if (n.path("action").asText().equals("egress.refused")) refused.add(n);
    });
    assertEquals(1, refused.size(), refused.toString());
    assertTrue(refused.getFirst().path("detail").path("packets").asLong() > 0, refused.toString());
  }

  /** A create its key has no room for takes no namespace: refused before its network is attached. */
  @Test
  void aCreatePastAKeysLimitTakesNoNamespace() throws Exception {
    TestHost.Reply key = host.call("POST", "/v1/keys", Map.of("name", "no-room", "maxSandboxes", 0));
    assertEquals(201, key.status(), key.raw());
    long before = namespaces();
    TestHost.Reply r = host.callAs(key.json().path("key").asText(), "POST", "/v1/sandboxes",
        Map.of("template", TestHost.TEMPLATE, "network", Map.of("mode", "internet")));
    assertEquals(429, r.status(), r.raw());
    assertEquals(before, namespaces(), "no namespace was taken or made");
  }

  /** Namespaces held by sandboxes (a row each); the ready pool beside them is refilled in the background. */
  private static long namespaces() throws Exception {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + host.dataDir().resolve("kiln.db"));
        java.sql.ResultSet rs = c.createStatement().executeQuery("SELECT COUNT(*) FROM sandbox_networks")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void sandboxesInOneGroupReachEachOtherAndNoOneElseDoes() throws Exception {
    String a = create(Map.of("mode", "internet", "group", "app"));
    String b = create(Map.of("mode", "internet", "group", "app"));
    String c = create(Map.of("mode", "internet", "group", "other"));
    serve(a, 8080);
    String addressOfA = host.call("GET", "/v1/sandboxes/" + a, null).json().path("network").path("address").asText();
    assertEquals(0, fetch(b, "http://" + addressOfA + ":8080/"), "a group peer by address");
    assertEquals(0, fetch(b, "http://" + a + ".kiln.internal:8080/"), "a group peer by name");
    assertNotEquals(0, fetch(c, "http://" + addressOfA + ":8080/"), "another group");
    assertNotEquals(0, exec(c, "nslookup " + a + ".kiln.internal").path("exitCode").asInt(-1));
  }

  /** Starts busybox httpd in the guest on a port, serving a page that names the sandbox. */
  private static void serve(String id, int port) throws Exception {
    exec(id, "mkdir -p /tmp/www && echo page-of-" + id + " > /tmp/www/index.html");
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/processes", Map.of("command", "httpd -f -p " + port + " -h /tmp/www"));
    assertEquals(201, r.status(), r.raw());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> exec(id, "wget -q -O - http://127.0.0.1:" + port + "/").path("stdout").asText().contains("page-of-"));
  }

  @Test
  void guestPortsAreReachableThroughTheProxyWithTheTokenAndThroughForwards() throws Exception {
    String id = create(Map.of("mode", "internet"));
    serve(id, 8080);
    String token = host.call("GET", "/v1/sandboxes/" + id, null).json().path("network").path("accessToken").asText();
    assertTrue(token.length() > 20);
    int proxyPort = host.daemon.proxyAddress().orElseThrow().getPort();
    String byPath = "http://127.0.0.1:" + proxyPort + "/v1/sandboxes/" + id + "/ports/8080/index.html";
    assertEquals(401, get(byPath, Map.of()).statusCode());
    assertEquals(403, get(byPath, Map.of("X-Kiln-Access-Token", "wrong")).statusCode());
    HttpResponse<String> ok = get(byPath, Map.of("X-Kiln-Access-Token", token));
    assertEquals(200, ok.statusCode());
    assertEquals("page-of-" + id, ok.body().strip());
    assertEquals("page-of-" + id, RawGet.get(proxyPort, "8080-" + id + ".sandbox.localhost", "/?kiln_token=" + token).strip(), "the host-name route");
    assertTrue(RawGet.get(proxyPort, "8080-" + id + ".sandbox.localhost", "/").contains("UNAUTHORIZED"));

    TestHost.Reply f = host.call("POST", "/v1/sandboxes/" + id + "/forwards", Map.of("guestPort", 8080));
    assertEquals(201, f.status(), f.raw());
    int hostPort = f.json().path("hostPort").asInt();
    assertEquals("page-of-" + id, get("http://127.0.0.1:" + hostPort + "/", Map.of()).body().strip());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id + "/forwards/" + hostPort, null).status());
  }

  private static HttpResponse<String> get(String url, Map<String, String> headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20));
    headers.forEach(b::header);
    return host.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void bandwidthLimitsHoldWithinTwentyPercent() throws Exception {
    String id = create(Map.of("mode", "internet", "ingressMbit", 10, "egressMbit", 10));
    // Into the guest: it downloads from the test internet.
    JsonNode r = exec(id, "time -f %e wget -q -O /dev/null http://" + TestInternet.SERVER + "/big");
    assertEquals(0, r.path("exitCode").asInt(-1), r.toString());
    String[] lines = r.path("stderr").asText().strip().split("\n");
    double down = TestInternet.BIG_BYTES * 8 / Double.parseDouble(lines[lines.length - 1].strip()) / 1e6;
    // Out of the guest: the host downloads from the guest's own server (at its sandbox address).
    serve(id, 8080);
    exec(id, "dd if=/dev/zero of=/tmp/www/big bs=1M count=5 2>/dev/null");
    String address = host.call("GET", "/v1/sandboxes/" + id, null).json().path("network").path("address").asText();
    long start = System.nanoTime();
    HttpResponse<byte[]> big = host.http.send(HttpRequest.newBuilder(URI.create("http://" + address + ":8080/big")).build(), HttpResponse.BodyHandlers.ofByteArray());
    double up = big.body().length * 8 / ((System.nanoTime() - start) / 1e9) / 1e6;
    assertEquals(TestInternet.BIG_BYTES, big.body().length);
    System.out.printf("bandwidth at a 10 Mbit/s limit: into the guest %.2f Mbit/s, out of it %.2f Mbit/s%n", down, up);
    assertTrue(down > 8 && down < 12, "into the guest " + down + " Mbit/s");
    assertTrue(up > 8 && up < 12, "out of the guest " + up + " Mbit/s");
    // Changed at runtime.
    assertEquals(200, host.call("PUT", "/v1/sandboxes/" + id + "/network", Map.of("egressMbit", 0)).status());
    start = System.nanoTime();
    host.http.send(HttpRequest.newBuilder(URI.create("http://" + address + ":8080/big")).build(), HttpResponse.BodyHandlers.discarding());
    double unlimited = TestInternet.BIG_BYTES * 8 / ((System.nanoTime() - start) / 1e9) / 1e6;
    assertTrue(unlimited > 15, "without the limit " + unlimited + " Mbit/s");
  }

  @Test
  void pauseResumeStopStartAndForksKeepWorkingNetworks() throws Exception {
    String id = create(Map.of("mode", "internet", "group", "fork"));
    String address = host.call("GET", "/v1/sandboxes/" + id, null).json().path("network").path("address").asText();
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/pause", null).status());
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/resume", null).status());
    assertEquals(0, fetch(id, "http://" + TestInternet.SERVER + "/"), "after a resume");
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/stop", null).status());
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/start", null).status());
    assertEquals(0, fetch(id, "http://" + TestInternet.SERVER + "/"), "after a stop and a boot from disk");
    assertEquals(address, host.call("GET", "/v1/sandboxes/" + id, null).json().path("network").path("address").asText());
    serve(id, 8080);
    TestHost.Reply forks = host.call("POST", "/v1/sandboxes/" + id + "/fork", Map.of("count", 2));
    assertEquals(201, forks.status(), forks.raw());
    java.util.Set<String> addresses = new java.util.HashSet<>(List.of(address));
    for (JsonNode f : forks.json().path("sandboxes")) {
      String fid = f.path("id").asText();
      JsonNode net = host.call("GET", "/v1/sandboxes/" + fid, null).json().path("network");
      assertEquals("fork", net.path("group").asText(), "a fork keeps its source's rules and group");
      assertTrue(addresses.add(net.path("address").asText()), "each fork has its own address");
      assertEquals(0, fetch(fid, "http://" + TestInternet.SERVER + "/"));
      assertEquals(0, fetch(fid, "http://" + address + ":8080/"), "a fork reaches its source, a group peer");
    }
  }

  @Test
  void twentyCreateDeleteCyclesLeaveNothingBehind() throws Exception {
    String probe = create(Map.of("mode", "internet"));
    host.call("DELETE", "/v1/sandboxes/" + probe, null);
    long before = leftovers();
    for (int i = 0; i < 20; i++) {
      String id = create(Map.of("mode", "internet", "group", "cycle", "egressMbit", 50));
      assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
    }
    assertEquals(before, leftovers(), "namespaces and host veths: only the spares made ahead remain");
  }

  /** Namespaces and host veths of this daemon (each namespace holds its tap and its nft table, and goes with them). */
  private static long leftovers() throws Exception {
    long ns;
    try (var s = Files.list(java.nio.file.Path.of("/run/netns"))) {
      ns = s.filter(p -> p.getFileName().toString().startsWith(PREFIX + "-")).count();
    }
    try (var s = Files.list(java.nio.file.Path.of("/sys/class/net"))) {
      return ns + s.filter(p -> p.getFileName().toString().matches(PREFIX + "v\\d+")).count();
    }
  }
}
