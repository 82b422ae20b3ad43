package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The audit trail against a real daemon and VM: what a request changed is recorded with its
 * caller and particulars, refused keys are recorded, and `kiln audit verify`, run as a user types
 * it, names a record an attacker with the database edited (AuditTrailContract removes them).
 */
@Tag("system")
class AuditSystemTest extends OneHostTest {
  private static List<JsonNode> records(String query) throws Exception {
    host.daemon().audit().flush(Duration.ofSeconds(30));
    TestHost.Reply r = host.call("GET", "/v1/audit" + query, null);
    assertEquals(200, r.status(), r.raw());
    List<JsonNode> out = new ArrayList<>();
    r.json().path("records").forEach(out::add);
    return out;
  }

  private static JsonNode one(List<JsonNode> records, String action) {
    List<JsonNode> found = records.stream().filter(n -> n.path("action").asText().equals(action)).toList();
    assertEquals(1, found.size(), action + " in " + records);
    return found.getFirst();
  }

  @Test
  void whatRequestsChangedIsRecordedWithTheirCallerAndParticulars() throws Exception {
    String id = host.createSandbox();
    byte[] content = "audited content\n".getBytes(StandardCharsets.UTF_8);
    HttpResponse<String> put = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=/root/a.txt"))
        .header("Authorization", "Bearer " + host.key).PUT(HttpRequest.BodyPublishers.ofByteArray(content)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, put.statusCode(), put.body());
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("argv", List.of("sh", "-c", "exit 7"))).status());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id + "/files?path=/root/a.txt", null).status());
    assertEquals(404, host.call("POST", "/v1/sandboxes/sb-aaaaaaaaaaaaaaaa/exec", Map.of("command", "true")).status());

    List<JsonNode> about = records("?sandbox=" + id);
    JsonNode created = one(about, "POST /v1/sandboxes");
    assertEquals("env", created.path("actor").asText(), "the daemon's own admin key");
    assertEquals(201, created.path("status").asInt());
    assertEquals(TestHost.TEMPLATE, created.path("detail").path("template").asText(), created.toString());
    JsonNode written = one(about, "PUT /v1/sandboxes/{id}/files");
    assertEquals("/root/a.txt", written.path("detail").path("path").asText());
    assertEquals(content.length, written.path("detail").path("bytes").asInt());
    assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content)), written.path("detail").path("sha256").asText());
    JsonNode exec = one(about, "POST /v1/sandboxes/{id}/exec");
    assertEquals(List.of("sh", "-c", "exit 7"), List.of(exec.path("detail").path("argv").get(0).asText(), exec.path("detail").path("argv").get(1).asText(),
        exec.path("detail").path("argv").get(2).asText()));
    assertEquals(7, exec.path("detail").path("exitCode").asInt(-1));
    assertTrue(exec.path("detail").has("durationMs") && exec.path("detail").has("uid"), exec.toString());
    assertEquals("/root/a.txt", one(about, "DELETE /v1/sandboxes/{id}/files").path("detail").path("path").asText());
    JsonNode refusedExec = one(records("?sandbox=sb-aaaaaaaaaaaaaaaa"), "POST /v1/sandboxes/{id}/exec");
    assertEquals("SANDBOX_NOT_FOUND", refusedExec.path("detail").path("error").asText(), "attempts are recorded with how they were answered");

    // A background process: its start with the request, its end when it ends.
    TestHost.Reply started = host.call("POST", "/v1/sandboxes/" + id + "/processes", Map.of("argv", List.of("sh", "-c", "exit 3")));
    assertEquals(201, started.status(), started.raw());
    String pid = started.json().path("pid").asText();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
        .until(() -> !host.call("GET", "/v1/sandboxes/" + id + "/processes/" + pid, null).json().path("status").asText().equals("running"));
    List<JsonNode> now = records("?sandbox=" + id);
    assertEquals(pid, one(now, "POST /v1/sandboxes/{id}/processes").path("detail").path("pid").asText());
    JsonNode ended = one(now, "process.exited");
    assertEquals(3, ended.path("detail").path("exitCode").asInt(-1), ended.toString());
    assertTrue(ended.path("detail").has("durationMs"), ended.toString());

    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
    assertEquals(204, one(records("?sandbox=" + id), "DELETE /v1/sandboxes/{id}").path("status").asInt());
  }

  @Test
  void refusedKeysAreRecordedOncePerMinuteWithACount() throws Exception {
    String since = java.time.Instant.now().minusSeconds(1).toString();
    for (int i = 0; i < 5; i++) assertEquals(401, host.callAs("kiln_not-a-key-at-all-" + i, "GET", "/v1/sandboxes", null).status());
    JsonNode refused = one(records("?since=" + since), "login.refused");
    assertEquals(401, refused.path("status").asInt());
    assertEquals("/v1/sandboxes", refused.path("detail").path("path").asText());
    assertTrue(refused.path("detail").path("keyPrefix").asText().length() <= 13, refused.toString());
  }

  @Test
  void kilnAuditVerifyFindsARecordEditedInTheDatabase() throws Exception {
    for (int i = 0; i < 3; i++) assertEquals(201, host.call("POST", "/v1/keys", Map.of("name", "audited-" + i)).status());
    host.daemon().audit().flush(Duration.ofSeconds(30));
    CliProcess.Run intact = CliProcess.against(host, null, "audit", "verify");
    assertEquals(0, intact.exit(), intact.out() + intact.err());
    assertTrue(intact.out().contains("intact"), intact.out());

    long victim;
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + host.dataDir().resolve("kiln.db")); Statement s = c.createStatement()) {
      var rs = s.executeQuery("SELECT MAX(seq) - 1 FROM audit_log");
      rs.next();
      victim = rs.getLong(1);
      // What someone covering their tracks would do: make a record say another key did it.
      assertEquals(1, s.executeUpdate("UPDATE audit_log SET actor = 'someone-else' WHERE seq = " + victim));
    }
    CliProcess.Run broken = CliProcess.against(host, null, "audit", "verify");
    assertEquals(1, broken.exit(), broken.out() + broken.err());
    assertTrue(broken.out().contains("record " + victim + " was altered"), broken.out());
    assertTrue(broken.err().contains("tampered with"), broken.err());
  }
}
