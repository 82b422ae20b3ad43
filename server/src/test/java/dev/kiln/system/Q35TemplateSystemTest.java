package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A template on the q35 machine: its snapshot is taken on q35 with room to grow, its sandboxes
 * restore from it (and can still hot-plug), its warm pool holds q35 clones, and a sandbox that
 * asks for the other machine boots and says why. Real VMs under TCG.
 */
@Tag("system")
class Q35TemplateSystemTest extends SnapshottedHostTest {
  private static final String Q35 = "q35-base";
  private static final Duration LONG = Duration.ofMinutes(3);

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command, "timeoutSeconds", 120));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText().strip();
  }

  private static JsonNode template() throws Exception {
    return host.call("GET", "/v1/templates/" + Q35, null).json();
  }

  private static JsonNode pool() throws Exception {
    for (JsonNode p : host.call("GET", "/v1/pools", null).json().path("pools")) if (p.path("template").asText().equals(Q35)) return p;
    return null;
  }

  @Test
  void aQ35TemplateIsSnapshottedOnQ35AndItsSandboxesRestoreAndGrow() throws Exception {
    TestHost.Reply bad = host.call("POST", "/v1/templates", Map.of("name", "x", "directory", host.dir.resolve("rootfs").toString(), "machine", "pc"));
    assertEquals(400, bad.status(), bad.raw());
    assertEquals("field 'machine' must be \"microvm\" or \"q35\", got \"pc\"", bad.json().path("error").path("message").asText());
    assertEquals("microvm", host.call("GET", "/v1/templates/" + TestHost.TEMPLATE, null).json().path("machine").asText());

    TestHost.Reply built = host.call("POST", "/v1/templates", Map.of("name", Q35, "directory", host.dir.resolve("rootfs").toString(), "machine", "q35"));
    assertEquals(202, built.status(), built.raw());
    assertEquals("q35", built.json().path("machine").asText());
    await().atMost(LONG).pollInterval(Duration.ofMillis(200)).until(() -> template().path("status").asText().equals("ready") && template().has("snapshot"));
    assertEquals("q35", template().path("snapshot").path("machine").asText(), template().toString());

    String id = host.createSandbox(Map.of("template", Q35));
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, id));
    assertEquals("q35", host.call("GET", "/v1/sandboxes/" + id, null).json().path("machine").asText());
    assertTrue(out(id, "ls /sys/bus/pci/devices | wc -l").matches("[1-9][0-9]*"), "a q35 guest sees PCI devices");
    // The clone has the snapshot's room to grow: a CPU plugged into a restored q35 VM comes online.
    TestHost.Reply grown = host.call("PATCH", "/v1/sandboxes/" + id, Map.of("vcpus", 2));
    assertEquals(200, grown.status(), grown.raw());
    await().atMost(LONG).until(() -> out(id, "nproc").equals("2"));

    String micro = host.createSandbox(Map.of("template", Q35, "machine", "microvm"));
    String how = SnapshotSystemTest.createdHow(host, micro);
    assertEquals("booted: the template snapshot is a q35 machine; this sandbox asked for microvm", how);
    assertEquals("microvm", host.call("GET", "/v1/sandboxes/" + micro, null).json().path("machine").asText());
    assertEquals("ok", out(micro, "echo ok"));

    TestHost.Reply set = host.call("PUT", "/v1/pools/" + Q35, Map.of("minReady", 1, "maxReady", 1));
    assertEquals(200, set.status(), set.raw());
    await().atMost(LONG).pollInterval(Duration.ofMillis(200)).until(() -> pool() != null && pool().path("ready").asInt() == 1);
    String claimed = host.createSandbox(Map.of("template", Q35));
    assertEquals("claimed from the warm pool", SnapshotSystemTest.createdHow(host, claimed));
    assertEquals("q35", host.call("GET", "/v1/sandboxes/" + claimed, null).json().path("machine").asText());
    assertEquals("ok", out(claimed, "echo ok"));
    assertEquals(204, host.call("DELETE", "/v1/pools/" + Q35, null).status());

    for (String s : new String[] {id, micro, claimed}) assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + s, null).status());
    assertEquals(204, host.call("DELETE", "/v1/templates/" + Q35, null).status());
  }
}
