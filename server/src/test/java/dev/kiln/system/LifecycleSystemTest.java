package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Sandbox lifecycle against real VMs: CRUD, TTL, failures noticed, restart re-adoption, leaks. */
@Tag("system")
class LifecycleSystemTest extends OneHostTest {

  private static String status(String id) throws Exception {
    return host.call("GET", "/v1/sandboxes/" + id, null).json().path("status").asText();
  }

  private static long qemuPid(String id) throws Exception {
    return Long.parseLong(Files.readString(host.dir.resolve("data/sandboxes/" + id + "/qemu.pid")).strip());
  }

  @Test
  void createListGetDelete() throws Exception {
    TestHost.Reply created = host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "timeoutSeconds", 600,
        "metadata", Map.of("owner", "test")));
    assertEquals(201, created.status(), created.raw());
    String id = created.json().path("id").asText();
    assertEquals("running", created.json().path("status").asText());
    assertEquals("test", created.json().path("metadata").path("owner").asText());
    assertFalse(created.json().path("expiresAt").isNull());

    JsonNode list = host.call("GET", "/v1/sandboxes", null).json().path("sandboxes");
    assertTrue(list.findValuesAsText("id").contains(id), list.toString());
    assertEquals("running", status(id));

    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
    TestHost.Reply gone = host.call("GET", "/v1/sandboxes/" + id, null);
    assertEquals(404, gone.status());
    assertEquals("SANDBOX_DELETED", gone.json().path("error").path("code").asText(), "its tombstone says it was deleted");
    assertEquals(404, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  @Test
  void ttlExpiresAndCanBeExtended() throws Exception {
    // The TTL counts from the create request; 10 s leaves a loaded host room to boot first.
    long created = System.nanoTime();
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "timeoutSeconds", 10));
    TestHost.Reply extended = host.call("POST", "/v1/sandboxes/" + id + "/timeout", Map.of("timeoutSeconds", 16));
    assertEquals(200, extended.status(), extended.raw());
    long pid = qemuPid(id);
    // Not gone after the original 10 s (awaitility fails if it is, before atLeast): the extension moved the deadline.
    Duration left = Duration.ofSeconds(11).minusNanos(System.nanoTime() - created);
    await().atLeast(left.isNegative() ? Duration.ZERO : left).atMost(Duration.ofSeconds(25)).pollInterval(Duration.ofMillis(200))
        .until(() -> host.call("GET", "/v1/sandboxes/" + id, null).status() == 404);
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "qemu of an expired sandbox must be gone");
  }

  @Test
  void killedQemuIsNoticedAndCleanedUp() throws Exception {
    String id = host.createSandbox();
    long pid = qemuPid(id);
    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(15)).until(() -> status(id).equals("error"));
    JsonNode sb = host.call("GET", "/v1/sandboxes/" + id, null).json();
    assertTrue(sb.path("error").asText().contains("exited unexpectedly"), sb.toString());
    assertFalse(Files.exists(host.dir.resolve("data/sandboxes/" + id)), "run directory (overlay, sockets) must be removed");
    TestHost.Reply exec = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("argv", List.of("true")));
    assertEquals(409, exec.status());
    assertEquals("SANDBOX_NOT_RUNNING", exec.json().path("error").path("code").asText());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  @Test
  void hostileGuestBreaksOnlyItsOwnSandbox() throws Exception {
    String good = host.createSandbox();
    var req = dev.kiln.sandbox.CreateSandbox.of(TestHost.TEMPLATE);
    String bad = host.daemon.sandboxes().create(new dev.kiln.sandbox.CreateSandbox(req.template(), req.timeoutSeconds(), req.vcpus(),
        java.util.OptionalInt.of(256), Map.of(), Map.of(), java.util.Optional.of(dev.kiln.sandbox.CreateSandbox.BootOverride.HOSTILE_AGENT))).id();
    // The hostile agent answers HELLO, then answers the first EXEC with a 2 GiB frame header and garbage.
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + bad + "/exec", Map.of("argv", List.of("true")));
    assertEquals(502, r.status(), r.raw());
    await().atMost(Duration.ofSeconds(15)).until(() -> status(bad).equals("error"));
    assertTrue(host.call("GET", "/v1/sandboxes/" + bad, null).json().path("error").asText().contains("agent channel broken"));
    TestHost.Reply ok = host.call("POST", "/v1/sandboxes/" + good + "/exec", Map.of("argv", List.of("echo", "still fine")));
    assertEquals("still fine\n", ok.json().path("stdout").asText());
    assertEquals(200, host.call("GET", "/healthz", null).status());
    host.call("DELETE", "/v1/sandboxes/" + bad, null);
    host.call("DELETE", "/v1/sandboxes/" + good, null);
  }

  @Test
  void daemonRestartReadoptsRunningSandboxes() throws Exception {
    String id = host.createSandbox();
    host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo kept > /root/marker"));
    long pid = qemuPid(id);
    host.stopDaemonOnly();
    assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "VMs outlive the daemon");
    host.boot();
    assertEquals("running", status(id));
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("argv", List.of("cat", "/root/marker")));
    assertEquals("kept\n", r.json().path("stdout").asText(), r.raw());
    assertEquals(pid, qemuPid(id));
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }


}
