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
 * Sandboxes on the q35 machine through the API: the lifecycle the microvm suite covers (exec,
 * pause and resume, stop and start, checkpoint, restore, fork, delete), and CPU and memory
 * hot-plug that the guest sees and that outlives a pause and a fork. Real VMs under TCG.
 */
@Tag("system")
class Q35SandboxSystemTest extends OneHostTest {
  private static final Duration LONG = Duration.ofMinutes(2);

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command, "timeoutSeconds", 120));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText().strip();
  }

  private static long memTotalKib(String id) throws Exception {
    return Long.parseLong(out(id, "awk '/MemTotal/ {print $2}' /proc/meminfo"));
  }

  @Test
  void aQ35SandboxLivesTheWholeLifecycleAndGrowsWhileItRuns() throws Exception {
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "machine", "q35"));
    JsonNode view = host.call("GET", "/v1/sandboxes/" + id, null).json();
    assertEquals("q35", view.path("machine").asText(), view.toString());
    assertTrue(out(id, "ls /sys/bus/pci/devices | wc -l").matches("[1-9][0-9]*"), "a q35 guest sees PCI devices");
    assertEquals("1", out(id, "nproc"));
    long before = memTotalKib(id);

    TestHost.Reply grown = host.call("PATCH", "/v1/sandboxes/" + id, Map.of("vcpus", 2, "memoryMib", 512));
    assertEquals(200, grown.status(), grown.raw());
    assertEquals(2, grown.json().path("vcpus").asInt());
    assertEquals(512, grown.json().path("memoryMib").asInt());
    // The agent onlines a plugged CPU when the kernel announces it, and the kernel onlines a DIMM
    // when its ACPI event is handled (memhp_default_state=online): each a moment after the plug.
    await().atMost(LONG).until(() -> out(id, "nproc").equals("2"));
    await().atMost(LONG).untilAsserted(() -> assertEquals(256 * 1024, memTotalKib(id) - before, "the guest gained the 256 MiB DIMM"));

    TestHost.Reply shrink = host.call("PATCH", "/v1/sandboxes/" + id, Map.of("vcpus", 1));
    assertEquals(400, shrink.status(), shrink.raw());
    assertEquals("INVALID_REQUEST", shrink.json().path("error").path("code").asText());

    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/pause", null).status());
    TestHost.Reply resized = host.call("PATCH", "/v1/sandboxes/" + id, Map.of("vcpus", 2));
    assertEquals(409, resized.status(), "a paused sandbox is not resized: " + resized.raw());
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/resume", null).status());
    assertEquals("2", out(id, "nproc"), "the hot-plugged CPU is there after a resume");

    assertEquals(201, host.call("POST", "/v1/sandboxes/" + id + "/checkpoints", Map.of("name", "grown")).status());
    out(id, "echo later > /root/later");
    TestHost.Reply fork = host.call("POST", "/v1/sandboxes/" + id + "/fork", Map.of("count", 1, "checkpoint", "grown"));
    assertEquals(201, fork.status(), fork.raw());
    String forked = fork.json().path("sandboxes").get(0).path("id").asText();
    assertEquals("2", out(forked, "nproc"), "a fork of the grown machine has its CPUs");
    assertEquals("gone", out(forked, "test -e /root/later && echo there || echo gone"));

    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/checkpoints/grown/restore", null).status());
    assertEquals("gone", out(id, "test -e /root/later && echo there || echo gone"), "restored to the checkpoint");
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/stop", null).status());
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/start", null).status());
    assertEquals("q35", host.call("GET", "/v1/sandboxes/" + id, null).json().path("machine").asText());
    assertEquals("1", out(id, "echo 1"), "a stopped q35 sandbox boots again from its disk");

    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + forked, null).status());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  @Test
  void aMicrovmCannotBeResizedAndAnUnknownMachineIsRefused() throws Exception {
    TestHost.Reply bad = host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "machine", "pc"));
    assertEquals(400, bad.status(), bad.raw());
    assertEquals("field 'machine' must be \"microvm\" or \"q35\", got \"pc\"", bad.json().path("error").path("message").asText());

    String id = host.createSandbox();
    TestHost.Reply r = host.call("PATCH", "/v1/sandboxes/" + id, Map.of("vcpus", 2));
    assertEquals(400, r.status(), r.raw());
    assertTrue(r.json().path("error").path("message").asText().contains("microvm machines cannot hot-plug CPUs or memory"), r.raw());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }
}
