package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The API fed what users get wrong: every answer has the right status and stable code, a message
 * that names the field (or the sandbox and its state) with what was expected and what came, and
 * no Java class or exception name anywhere in its body.
 */
@Tag("system")
class BadInputSystemTest extends OneSandboxTest {
  /** What must never reach a user: a package-qualified Java name, an exception's class name, a nested class ($). */
  private static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|dev\\.kiln|com\\.fasterxml|org\\.eclipse)\\.[a-z]|Exception\\b|\\$[A-Z]|`");

  /** Asserts the error's status and code, that its message holds each of {@code says}, and that the body names no Java type. */
  private static String expectError(TestHost.Reply r, int status, String code, String... says) {
    assertFalse(JAVA_NAME.matcher(r.raw()).find(), "a Java name reached the client: " + r.raw());
    assertEquals(status, r.status(), r.raw());
    JsonNode e = r.json().path("error");
    assertEquals(code, e.path("code").asText(), r.raw());
    String message = e.path("message").asText();
    for (String s : says) assertTrue(message.contains(s), "message should contain \"" + s + "\": " + message);
    return message;
  }

  private static TestHost.Reply create(Object body) throws Exception {
    return host.call("POST", "/v1/sandboxes", body);
  }

  private static TestHost.Reply exec(String id, Object body) throws Exception {
    return host.call("POST", "/v1/sandboxes/" + id + "/exec", body);
  }

  @Test
  void malformedJsonSaysWhere() throws Exception {
    expectError(create("{not json"), 400, "INVALID_JSON", "the body is not valid JSON", "line 1, column 2");
    expectError(create("{\"template\": \"busybox\""), 400, "INVALID_JSON", "not valid JSON", "end-of-input");
    expectError(create("{\"template\": \"busybox\"} {}"), 400, "INVALID_JSON", "goes on after the end of its value");
    expectError(create(""), 400, "INVALID_JSON", "needs a JSON object as its body");
  }

  @Test
  void anArrayOrScalarBodyIsNotAnObject() throws Exception {
    expectError(create("[]"), 400, "INVALID_JSON", "the body must be a JSON object, got an array");
    expectError(create("[{\"template\": \"busybox\"}]"), 400, "INVALID_JSON", "the body must be a JSON object, got an array");
    expectError(create("\"busybox\""), 400, "INVALID_JSON", "the body must be a JSON object, got a string");
    expectError(create("null"), 400, "INVALID_JSON", "the body must be a JSON object, got null");
    expectError(exec(sandbox, "[\"ls\"]"), 400, "INVALID_JSON", "the body must be a JSON object, got an array");
  }

  @Test
  void wrongTypesNameTheFieldTheExpectedAndTheGiven() throws Exception {
    expectError(create("{\"template\": 5}"), 400, "INVALID_JSON", "field 'template' must be a string, got a number");
    expectError(create("{\"template\": \"busybox\", \"vcpus\": \"two\"}"), 400, "INVALID_JSON", "field 'vcpus' must be an integer, got a string");
    expectError(create("{\"template\": \"busybox\", \"memoryMib\": 256.5}"), 400, "INVALID_JSON", "field 'memoryMib' must be an integer");
    expectError(create("{\"template\": \"busybox\", \"vcpus\": 99999999999}"), 400, "INVALID_REQUEST", "field 'vcpus' must be an integer from");
    expectError(create("{\"template\": \"busybox\", \"env\": {\"A\": 1}}"), 400, "INVALID_JSON", "field 'env.A' must be a string, got a number");
    // A null inside a map used to pass the binder and end as a 500 (a NullPointerException in the copy).
    expectError(create("{\"template\": \"busybox\", \"env\": {\"A\": null}}"), 400, "INVALID_JSON", "field 'env.A' must not be null");
    expectError(create("{\"template\": \"busybox\", \"network\": {\"allowOut\": [\"example.com\", 3]}}"), 400, "INVALID_JSON",
        "field 'network.allowOut[1]' must be a string, got a number");
    expectError(create("{\"template\": \"busybox\", \"network\": \"internet\"}"), 400, "INVALID_JSON", "field 'network' must be an object, got a string");
    expectError(exec(sandbox, "{\"argv\": \"ls -l\"}"), 400, "INVALID_JSON", "field 'argv' must be an array, got a string");
    expectError(exec(sandbox, "{\"argv\": [\"ls\", null]}"), 400, "INVALID_JSON", "field 'argv[1]' must not be null");
    expectError(exec(sandbox, "{\"command\": \"true\", \"timeoutSeconds\": \"5\"}"), 400, "INVALID_JSON", "field 'timeoutSeconds' must be an integer");
    expectError(host.call("PUT", "/v1/pools/" + TestHost.TEMPLATE, "{\"minReady\": true, \"maxReady\": 1}"), 400, "INVALID_JSON",
        "field 'minReady' must be an integer, got a boolean");
  }

  @Test
  void unknownFieldsListTheKnownOnes() throws Exception {
    expectError(create("{\"template\": \"busybox\", \"memory\": 256}"), 400, "INVALID_REQUEST", "unknown field 'memory'", "memoryMib", "template");
    expectError(create("{\"template\": \"busybox\", \"network\": {\"allow\": []}}"), 400, "INVALID_REQUEST", "unknown field 'network.allow'",
        "allowOut");
    expectError(exec(sandbox, "{\"cmd\": \"ls\"}"), 400, "INVALID_REQUEST", "unknown field 'cmd'", "command");
  }

  @Test
  void missingFieldsAreNamed() throws Exception {
    expectError(create("{}"), 400, "INVALID_REQUEST", "field 'template' is required");
    expectError(exec(sandbox, "{}"), 400, "INVALID_REQUEST", "'argv'", "'command'");
  }

  @Test
  void outOfRangeValuesAreInvalidNotCapacity() throws Exception {
    expectError(create(Map.of("template", TestHost.TEMPLATE, "memoryMib", 64)), 400, "INVALID_REQUEST", "field 'memoryMib' must be 128..", "got 64");
    expectError(create(Map.of("template", TestHost.TEMPLATE, "vcpus", 0)), 400, "INVALID_REQUEST", "field 'vcpus' must be 1..", "got 0");
    expectError(create(Map.of("template", TestHost.TEMPLATE, "vcpus", -3)), 400, "INVALID_REQUEST", "field 'vcpus'", "got -3");
    expectError(create(Map.of("template", TestHost.TEMPLATE, "vcpus", 1000)), 400, "INVALID_REQUEST", "field 'vcpus'", "got 1000");
    expectError(create(Map.of("template", TestHost.TEMPLATE, "timeoutSeconds", -1)), 400, "INVALID_REQUEST", "field 'timeoutSeconds' must be 0",
        "got -1");
    expectError(create(Map.of("template", TestHost.TEMPLATE, "timeoutSeconds", 100_000_000)), 400, "INVALID_REQUEST", "field 'timeoutSeconds'",
        "30 days");
    expectError(create(Map.of("template", TestHost.TEMPLATE, "diskMib", 1)), 400, "INVALID_REQUEST", "field 'diskMib' must be", "got 1");
    expectError(create(Map.of("template", TestHost.TEMPLATE, "onTimeout", "explode")), 400, "INVALID_REQUEST", "onTimeout", "explode");
    expectError(exec(sandbox, Map.of("command", "true", "timeoutSeconds", -5)), 400, "INVALID_REQUEST", "field 'timeoutSeconds'", "got -5");
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/timeout", Map.of("timeoutSeconds", -1)), 400, "INVALID_REQUEST",
        "field 'timeoutSeconds'");
    int cores = Runtime.getRuntime().availableProcessors();
    if (cores < 64) {
      // A valid size this host cannot give stays 422: another host could.
      expectError(create(Map.of("template", TestHost.TEMPLATE, "vcpus", cores + 1)), 422, "INSUFFICIENT_CAPACITY", "field 'vcpus'",
          "this host has " + cores + " cores");
    }
  }

  @Test
  void unknownIdsAreNamedNotFound() throws Exception {
    expectError(host.call("GET", "/v1/sandboxes/sb-aaaaaaaaaaaaaaaa", null), 404, "SANDBOX_NOT_FOUND", "sb-aaaaaaaaaaaaaaaa");
    expectError(exec("sb-aaaaaaaaaaaaaaaa", Map.of("argv", List.of("true"))), 404, "SANDBOX_NOT_FOUND", "sb-aaaaaaaaaaaaaaaa");
    expectError(host.call("GET", "/v1/sandboxes/sb-aaaaaaaaaaaaaaaa/events", null), 404, "SANDBOX_NOT_FOUND");
    expectError(create(Map.of("template", "nope")), 404, "TEMPLATE_NOT_FOUND", "'nope'");
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/checkpoints/none/restore", null), 404, "CHECKPOINT_NOT_FOUND", "'none'");
    expectError(host.call("GET", "/v1/sandboxes/" + sandbox + "/processes/999999", null), 404, "PROCESS_NOT_FOUND");
    expectError(host.call("GET", "/v1/nothing", null), 404, "ROUTE_NOT_FOUND");
  }

  @Test
  void aHugeBodyIs413() throws Exception {
    expectError(create("{\"template\":\"" + "x".repeat(2 << 20) + "\"}"), 413, "PAYLOAD_TOO_LARGE", "1 MiB");
  }

  @Test
  void pathTraversalNeverReachesARoute() throws Exception {
    expectError(host.call("GET", "/v1/sandboxes/..%2F..%2Fetc", null), 400, "INVALID_REQUEST");
    expectError(host.call("GET", "/v1/sandboxes/sb-..etc", null), 404, "SANDBOX_NOT_FOUND");
    expectError(host.call("GET", "/v1/sandboxes/" + sandbox + "/files?path=../../etc/passwd", null), 400, "INVALID_REQUEST", "absolute");
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/checkpoints", Map.of("name", "../x")), 400, "INVALID_REQUEST", "checkpoint name");
    expectError(host.call("POST", "/v1/templates", Map.of("name", "../x", "directory", "/tmp")), 400, "INVALID_REQUEST", "template name");
  }

  @Test
  void aCommandThatCannotStartSaysWhy() throws Exception {
    expectError(exec(sandbox, Map.of("argv", List.of("/no/such/binary"))), 400, "COMMAND_NOT_FOUND",
        "no such command '/no/such/binary' in sandbox " + sandbox);
    expectError(exec(sandbox, Map.of("argv", List.of("nosuchcommand"))), 400, "COMMAND_NOT_FOUND", "no such command 'nosuchcommand'", "PATH");
    expectError(exec(sandbox, Map.of("argv", List.of("/etc/passwd"))), 400, "COMMAND_NOT_EXECUTABLE",
        "command '/etc/passwd' in sandbox " + sandbox + " is not executable", "permission denied");
    expectError(exec(sandbox, Map.of("argv", List.of("/tmp"))), 400, "COMMAND_NOT_EXECUTABLE", "'/tmp'", "not executable");
    assertEquals(0, exec(sandbox, Map.of("command", "printf 'garbage' > /tmp/junk && chmod +x /tmp/junk")).json().path("exitCode").asInt(-1));
    expectError(exec(sandbox, Map.of("argv", List.of("/tmp/junk"))), 400, "COMMAND_NOT_EXECUTABLE", "'/tmp/junk'", "exec format error");
    expectError(exec(sandbox, Map.of("argv", List.of("true"), "cwd", "/no/such/dir")), 400, "INVALID_REQUEST", "field 'cwd'", "/no/such/dir");
    // Background processes fail the same way.
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/processes", Map.of("argv", List.of("/no/such/binary"))), 400, "COMMAND_NOT_FOUND",
        "no such command '/no/such/binary'");
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/processes", Map.of("argv", List.of("/etc/passwd"))), 400, "COMMAND_NOT_EXECUTABLE",
        "not executable");
  }

  private static Set<String> diskLayers() throws Exception {
    try (Stream<Path> s = Files.list(host.dir.resolve("data/disks"))) {
      return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
    }
  }

  @Test
  void aCheckpointOfAPausedOrStoppedSandboxIs409AndLeavesNoLayer() throws Exception {
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + sandbox + "/pause", null).status());
    Set<String> before = diskLayers();
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/checkpoints", Map.of("name", "cp1")), 409, "ILLEGAL_TRANSITION",
        "sandbox " + sandbox + " is paused; a checkpoint needs running (resume it first)");
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/fork", Map.of("count", 1)), 409, "ILLEGAL_TRANSITION", "is paused");
    assertEquals(before, diskLayers(), "no disk layer left behind by the refused checkpoint");
    assertEquals("paused", host.call("GET", "/v1/sandboxes/" + sandbox, null).json().path("status").asText());
    // Stopped (from paused: no boot needed) is refused the same way.
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + sandbox + "/stop", null).status());
    expectError(host.call("POST", "/v1/sandboxes/" + sandbox + "/checkpoints", Map.of("name", "cp1")), 409, "ILLEGAL_TRANSITION",
        "is stopped; a checkpoint needs running (start it first)");
    assertEquals(before, diskLayers());
    TestHost.Reply started = host.call("POST", "/v1/sandboxes/" + sandbox + "/start", null);
    assertEquals(200, started.status(), started.raw());
    TestHost.Reply cp = host.call("POST", "/v1/sandboxes/" + sandbox + "/checkpoints", Map.of("name", "cp1"));
    assertEquals(201, cp.status(), "a running sandbox is checkpointed as before: " + cp.raw());
  }

  @Test
  void aTemplateWithoutAnOsFailsAtBuildTime() throws Exception {
    Path empty = Files.createDirectories(host.dir.resolve("empty-rootfs"));
    Path textOnly = Files.createDirectories(host.dir.resolve("text-rootfs"));
    Files.writeString(textOnly.resolve("README.txt"), "no operating system here\n");
    for (var c : List.of(Map.entry("empty", empty), Map.entry("text-only", textOnly))) {
      TestHost.Reply r = host.call("POST", "/v1/templates", Map.of("name", c.getKey(), "directory", c.getValue().toString()));
      assertEquals(202, r.status(), r.raw());
      await().atMost(Duration.ofMinutes(1)).until(() -> host.call("GET", "/v1/templates/" + c.getKey(), null).json().path("status").asText()
          .equals("failed"));
      JsonNode t = host.call("GET", "/v1/templates/" + c.getKey(), null).json();
      assertTrue(t.path("error").asText().contains("the root filesystem has no /bin/sh"), t.toString());
      assertTrue(t.path("error").asText().contains("a template needs a shell and its libc"), t.toString());
      expectError(create(Map.of("template", c.getKey())), 409, "TEMPLATE_NOT_READY", "failed");
    }
  }
}
