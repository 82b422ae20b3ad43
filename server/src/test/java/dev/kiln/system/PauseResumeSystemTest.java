package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Pause saves the whole VM and frees it; resume brings back its memory, files and processes. */
@Tag("system")
class PauseResumeSystemTest {
  private static TestHost host;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithSnapshots();
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  private static JsonNode exec(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command, "timeoutSeconds", 120));
    assertEquals(200, r.status(), r.raw());
    return r.json();
  }

  private static TestHost.Reply post(String id, String action) throws Exception {
    return host.call("POST", "/v1/sandboxes/" + id + "/" + action, null);
  }

  private static String status(String id) throws Exception {
    return host.call("GET", "/v1/sandboxes/" + id, null).json().path("status").asText();
  }

  @Test
  void memoryFilesAndProcessesSurvivePauseAndResume() throws Exception {
    String id = host.createSandbox();
    exec(id, "echo kept > /root/marker; head -c 104857600 /dev/urandom > /tmp/big");
    String sum = exec(id, "sha256sum /tmp/big").path("stdout").asText();
    String pid = exec(id, "sleep 1000 > /dev/null 2>&1 & echo $!").path("stdout").asText().strip();

    TestHost.Reply paused = post(id, "pause");
    assertEquals(200, paused.status(), paused.raw());
    assertEquals("paused", paused.json().path("status").asText());
    assertFalse(qemuRunning(id), "a paused sandbox has no VM");
    assertEquals(409, post(id, "pause").status(), "pausing twice is an illegal transition");
    assertEquals("ILLEGAL_TRANSITION", post(id, "pause").json().path("error").path("code").asText());

    TestHost.Reply resumed = post(id, "resume");
    assertEquals(200, resumed.status(), resumed.raw());
    assertEquals("running", resumed.json().path("status").asText());
    assertEquals(200, post(id, "resume").status(), "resuming a running sandbox changes nothing");
    assertEquals(sum, exec(id, "sha256sum /tmp/big").path("stdout").asText(), "RAM (tmpfs) content survives");
    assertEquals("kept\n", exec(id, "cat /root/marker").path("stdout").asText());
    assertEquals("alive\n", exec(id, "kill -0 " + pid + " && echo alive").path("stdout").asText(), "the sleep keeps its pid");
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  @Test
  void aStoppedSandboxKeepsItsDiskAndBootsFromItOnStart() throws Exception {
    String id = host.createSandbox();
    exec(id, "echo on-disk > /root/kept");
    TestHost.Reply stopped = post(id, "stop");
    assertEquals(200, stopped.status(), stopped.raw());
    assertEquals("stopped", stopped.json().path("status").asText());
    assertFalse(qemuRunning(id), "a stopped sandbox has no VM");
    assertEquals(200, post(id, "stop").status(), "stopping twice changes nothing");
    TestHost.Reply execWhileStopped = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "true"));
    assertEquals(409, execWhileStopped.status(), "a stopped sandbox is not woken by a request; it is started on purpose");
    assertEquals("SANDBOX_NOT_RUNNING", execWhileStopped.json().path("error").path("code").asText());
    assertEquals(409, post(id, "resume").status());
    assertEquals(409, post(id, "pause").status());

    TestHost.Reply started = post(id, "start");
    assertEquals(200, started.status(), started.raw());
    assertEquals("running", started.json().path("status").asText());
    assertEquals("on-disk\n", exec(id, "cat /root/kept").path("stdout").asText(), "the guest synced before the stop");
    assertEquals(200, post(id, "start").status(), "starting a running sandbox changes nothing");
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  @Test
  void execWakesAPausedSandboxAndPausedSandboxesSurviveADaemonRestart() throws Exception {
    String id = host.createSandbox();
    exec(id, "echo before > /root/note");
    assertEquals(200, post(id, "pause").status());
    host.stopDaemonOnly();
    host.boot();
    assertEquals("paused", status(id));
    assertEquals("before\n", exec(id, "cat /root/note").path("stdout").asText(), "a data-plane request resumes it");
    assertEquals("running", status(id));
    host.call("DELETE", "/v1/sandboxes/" + id, null);

    String paused = host.createSandbox();
    assertEquals(200, post(paused, "pause").status());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + paused, null).status(), "a paused sandbox can be deleted");
  }

  @Test
  void aSandboxRestoredFromTheTemplateSnapshotPausesAndResumesToo() throws Exception {
    host.awaitTemplateSnapshot();
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertEquals("snapshot", host.call("GET", "/v1/sandboxes/" + id, null).json().path("startedFrom").asText());
    exec(id, "echo clone > /tmp/in-ram");
    assertEquals(200, post(id, "pause").status());
    assertEquals(200, post(id, "resume").status());
    assertEquals("clone\n", exec(id, "cat /tmp/in-ram").path("stdout").asText());
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  @Test
  void onTimeoutPausePausesAtTheTtlAndAResumeGivesAFreshOne() throws Exception {
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "timeoutSeconds", 8, "onTimeout", "pause"));
    assertEquals("pause", host.call("GET", "/v1/sandboxes/" + id, null).json().path("onTimeout").asText());
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(40)).until(() -> status(id).equals("paused"));
    assertEquals("alive\n", exec(id, "echo alive").path("stdout").asText(), "exec wakes it");
    JsonNode view = host.call("GET", "/v1/sandboxes/" + id, null).json();
    assertEquals("running", view.path("status").asText());
    assertFalse(view.path("expiresAt").isNull(), "the TTL runs again after a resume: " + view);
    assertEquals(400, host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "onTimeout", "explode")).status());
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  private static boolean qemuRunning(String id) {
    return ProcessHandle.allProcesses().anyMatch(p -> p.info().commandLine().map(c -> c.contains("kiln-" + id)).orElse(false));
  }
}
