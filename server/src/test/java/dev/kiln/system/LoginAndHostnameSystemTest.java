package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.sdk.CommandHandle;
import dev.kiln.sdk.CommandResult;
import dev.kiln.sdk.Kiln;
import dev.kiln.sdk.Sandbox;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * What a sandbox says it is: a login (`kiln shell`) reads the guest's /etc/passwd like ssh would,
 * every sandbox, including clones of the template snapshot and forks, has its id as hostname, and
 * it runs Kiln's own guest kernel.
 */
@Tag("system")
class LoginAndHostnameSystemTest extends SnapshottedHostTest {
  /** The daemon's default size: sandboxes restored from the template snapshot. */
  private static final Map<String, Object> FROM_SNAPSHOT = Map.of("template", TestHost.TEMPLATE);
  /** What a login shows of itself; the braces keep the echoed command line (which has the `$`s) out of the match. */
  private static final String SHOW = "echo \"{{$HOME|$SHELL|$(pwd)|$USER|$LOGNAME}}\"";
  private static final Pattern SHOWN = Pattern.compile("\\{\\{([^${}]*)}}");

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command, "timeoutSeconds", 120));
    assertEquals(200, r.status(), r.raw());
    assertEquals(0, r.json().path("exitCode").asInt(-1), r.raw());
    return r.json().path("stdout").asText();
  }

  /** A login process through the API (no pty), its stdout once it exits. */
  private static String loginProcess(String id, Map<String, Object> fields) throws Exception {
    Map<String, Object> body = new LinkedHashMap<>(fields);
    body.put("login", true);
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/processes", body);
    assertEquals(201, r.status(), r.raw());
    assertTrue(r.json().path("login").asBoolean(), r.raw());
    long pid = r.json().path("pid").asLong();
    HttpRequest req = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/processes/" + pid + "/output?follow=true"))
        .header("Authorization", "Bearer " + host.key).timeout(Duration.ofMinutes(2)).build();
    StringBuilder stdout = new StringBuilder();
    for (String line : host.http.send(req, HttpResponse.BodyHandlers.ofLines()).body().toList()) {
      JsonNode j = TestHost.JSON.readTree(line);
      if (j.path("type").asText().equals("output")) stdout.append(new String(Base64.getDecoder().decode(j.path("data").asText()), StandardCharsets.UTF_8));
    }
    return stdout.toString();
  }

  private static String shown(String screen) {
    Matcher m = SHOWN.matcher(screen);
    assertTrue(m.find(), "the login showed itself: " + screen);
    return m.group(1);
  }

  /**
   * The installer builds Kiln's kernel and falls back to Debian's with a warning when it cannot:
   * here a fallback fails, so a broken kernel build does not pass unseen behind it.
   */
  @Test
  void sandboxesRunKilnsOwnKernelAsBuiltByTheInstaller() throws Exception {
    JsonNode manifest = TestHost.JSON.readTree(TestHost.ARTIFACTS.resolve("manifest.json").toFile());
    assertEquals("kiln", manifest.path("kernel_flavor").asText(), "the guest artifacts' kernel (scripts/build-guest.sh fell back to Debian's?): " + manifest);
    String id = host.createSandbox(FROM_SNAPSHOT);
    assertEquals(manifest.path("kernel_release").asText(), out(id, "uname -r").strip());
    // Built in, not modules: the initramfs loads none, and the guest has no module support at all.
    assertFalse(out(id, "ls /proc").lines().anyMatch("modules"::equals), "no /proc/modules in Kiln's kernel");
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  @Test
  void aLoginIsTheUsersShellFromTheGuestsPasswdInItsHome() throws Exception {
    String id = host.createSandbox(FROM_SNAPSHOT);
    // busybox has no bash: ash under its own name proves the shell comes from passwd, not a default.
    out(id, "printf 'root:x:0:0:root:/root:/bin/ash\\ndev:x:1000:1000:Dev:/home/dev:/bin/ash\\n"
        + "ghost:x:1001:1001::/home/ghost:/bin/bash\\n' > /etc/passwd && mkdir -p /home/dev && chown 1000:1000 /home/dev");
    Sandbox sb = Sandbox.connect(new Kiln(host.base, host.key), id);

    StringBuffer screen = new StringBuffer();
    try (CommandHandle h = sb.loginShell(Map.of("TERM", "xterm"), 24, 200, d -> screen.append(new String(d, StandardCharsets.UTF_8)))) {
      h.sendStdin(SHOW + "; echo \"[[$0]]\"\r");
      await().atMost(Duration.ofMinutes(1)).until(() -> screen.toString().contains("[[-ash]]"));
      assertEquals("/root|/bin/ash|/root|root|root", shown(screen.toString()), screen.toString());
      // History: the up arrow brings the last line back (line editing on the pty, HOME known).
      h.sendStdin("echo hist-$((6*7))\r");
      await().atMost(Duration.ofMinutes(1)).until(() -> count(screen.toString(), "hist-42") == 1);
      h.sendStdin("\u001b[A\r");
      await().atMost(Duration.ofMinutes(1)).until(() -> count(screen.toString(), "hist-42") == 2);
      h.sendStdin("exit 4\r");
      CommandResult r = h.await(Duration.ofMinutes(1));
      assertEquals(4, r.exitCode(), screen.toString());
    }

    assertEquals("{{/home/dev|/bin/ash|/home/dev|dev|dev}}\n", loginProcess(id, Map.of("user", "dev", "command", SHOW)),
        "another user's login: its own entry, its home");
    assertEquals("{{/home/ghost|/bin/sh|/|ghost|ghost}}\n", loginProcess(id, Map.of("user", "ghost", "command", SHOW)),
        "a shell that is not there is /bin/sh; a home that is not there starts in /");
    assertEquals("{{/root|/bin/ash|/tmp|root|root}}\n", loginProcess(id, Map.of("cwd", "/tmp", "command", SHOW)), "a cwd given wins over home");
    assertEquals("{{/root|/bin/ash|/root|someone|root}}\n", loginProcess(id, Map.of("env", Map.of("USER", "someone"), "command", SHOW)),
        "the request's env wins over the login's");

    // A passwd the agent cannot read as a file (a FIFO no one writes: opening it for reading would
    // block PID 1) gives the fallback, and the agent carries on.
    out(id, "rm /etc/passwd && mkfifo /etc/passwd");
    assertEquals("{{/root|/bin/sh|/root|root|root}}\n", loginProcess(id, Map.of("command", SHOW)));
    assertEquals("ok\n", out(id, "echo ok"));
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  @Test
  void everySandboxIsNamedByItsIdClonesAndForksToo() throws Exception {
    String a = host.createSandbox(FROM_SNAPSHOT);
    String b = host.createSandbox(FROM_SNAPSHOT);
    for (String id : List.of(a, b)) {
      assertEquals("snapshot", host.call("GET", "/v1/sandboxes/" + id, null).json().path("startedFrom").asText());
      assertEquals(id + "\n", out(id, "hostname"), "a clone of the template snapshot has its own name");
      // Its console tells a calm story: a clone's saved session was live, but no host restarted.
      String console = host.call("GET", "/v1/sandboxes/" + id + "/console", null).raw();
      assertTrue(console.contains("host connected: new session"), console);
      assertFalse(console.contains("restarted") || console.contains("live session"), console);
    }
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + a + "/fork", Map.of("count", 1));
    assertEquals(201, r.status(), r.raw());
    String fork = r.json().path("sandboxes").get(0).path("id").asText();
    assertEquals(fork + "\n", out(fork, "hostname"), "a fork is renamed at its HELLO");
    assertEquals(a + "\n", out(a, "hostname"), "its source keeps its name");
    List<String> all = new ArrayList<>(List.of(a, b, fork));
    for (String id : all) assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  private static int count(String s, String what) {
    int n = 0;
    for (int i = s.indexOf(what); i >= 0; i = s.indexOf(what, i + 1)) n++;
    return n;
  }
}
