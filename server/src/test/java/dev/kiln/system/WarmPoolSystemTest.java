package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Warm pools: restored, paused VMs claimed by creates, refilled in the background, stopped with the daemon. */
@Tag("system")
class WarmPoolSystemTest {
  private static TestHost host;
  /** The daemon's default size: the size of the template snapshot, and so of the pool's VMs. */
  private static final Map<String, Object> DEFAULT_SIZE = Map.of("template", TestHost.TEMPLATE);

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithSnapshots();
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  private static JsonNode pool() throws Exception {
    JsonNode pools = host.call("GET", "/v1/pools", null).json().path("pools");
    for (JsonNode p : pools) if (p.path("template").asText().equals(TestHost.TEMPLATE)) return p;
    return null;
  }

  private static void awaitReady(int n) {
    org.awaitility.Awaitility.await("pool with " + n + " ready VMs").atMost(java.time.Duration.ofMinutes(2)).pollInterval(java.time.Duration.ofMillis(200))
        .until(() -> {
          JsonNode p = pool();
          return p != null && p.path("ready").asInt() == n && !p.path("filling").asBoolean();
        });
  }

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText();
  }

  private static String createdHow(String id) throws Exception {
    return host.call("GET", "/v1/sandboxes/" + id + "/events", null).json().path("events").get(0).path("message").asText();
  }

  @Test
  void createsClaimPooledVmsAndThePoolRefills() throws Exception {
    assertEquals(400, host.call("PUT", "/v1/pools/" + TestHost.TEMPLATE, Map.of("minReady", 3, "maxReady", 2)).status());
    assertEquals(400, host.call("PUT", "/v1/pools/" + TestHost.TEMPLATE, Map.of("minReady", 1, "maxReady", 1000)).status());
    assertEquals(404, host.call("PUT", "/v1/pools/nosuch", Map.of("minReady", 1, "maxReady", 1)).status());
    TestHost.Reply set = host.call("PUT", "/v1/pools/" + TestHost.TEMPLATE, Map.of("minReady", 1, "maxReady", 2));
    assertEquals(200, set.status(), set.raw());
    awaitReady(2);

    String a = host.createSandbox(DEFAULT_SIZE);
    String b = host.createSandbox(DEFAULT_SIZE);
    assertEquals("claimed from the warm pool", createdHow(a));
    assertEquals("claimed from the warm pool", createdHow(b));
    long hostNow = System.currentTimeMillis() / 1000;
    long guestNow = Long.parseLong(out(a, "date +%s").strip());
    assertTrue(Math.abs(guestNow - hostNow) <= 1, "a claimed VM's clock is set at the claim: guest " + guestNow + " host " + hostNow);
    assertNotEquals(out(a, "head -c 32 /dev/urandom | od -An -tx1"), out(b, "head -c 32 /dev/urandom | od -An -tx1"));
    out(a, "echo mine > /root/a");
    assertEquals("absent\n", out(b, "test -e /root/a || echo absent"));

    // A size the pool does not hold is created the usual way and counted as a miss.
    String other = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 320));
    assertTrue(createdHow(other).startsWith("booted: size differs from the template snapshot"), createdHow(other));
    awaitReady(2);
    JsonNode p = pool();
    assertEquals(2, p.path("claims").asInt());
    assertEquals(1, p.path("misses").asInt());
    String metrics = host.call("GET", "/metrics", null).raw();
    assertTrue(metrics.contains("kiln_pool_ready{template=\"" + TestHost.TEMPLATE + "\"} 2"), metrics);
    assertTrue(metrics.contains("kiln_sandboxes{state=\"running\"} 3"), metrics);

    // Pool VMs are not sandboxes: they die with their daemon and the next one makes its own.
    host.stopDaemonOnly();
    assertEquals(Set.of(a, b, other), runDirs(), "only the sandboxes' VMs outlive the daemon");
    host.boot();
    awaitReady(2);
    assertEquals(5, runDirs().size());
    assertEquals(204, host.call("DELETE", "/v1/pools/" + TestHost.TEMPLATE, null).status());
    assertEquals(Set.of(a, b, other), runDirs());
    for (String id : List.of(a, b, other)) host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  private static Set<String> runDirs() throws Exception {
    try (Stream<Path> dirs = Files.list(host.dir.resolve("data/sandboxes"))) {
      return dirs.map(d -> d.getFileName().toString()).collect(Collectors.toSet());
    }
  }
}
