package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A deleted or expired sandbox leaves a tombstone: 404 with when and why, its events still readable, until the reaper purges it. */
@Tag("system")
class TombstoneSystemTest extends OneHostTest {

  private static JsonNode error(String method, String path, Object body, String code) throws Exception {
    TestHost.Reply r = host.call(method, path, body);
    assertEquals(404, r.status(), method + " " + path + ": " + r.raw());
    assertEquals(code, r.json().path("error").path("code").asText(), r.raw());
    return r.json().path("error");
  }

  private static List<String> eventKinds(String id) throws Exception {
    TestHost.Reply r = host.call("GET", "/v1/sandboxes/" + id + "/events", null);
    assertEquals(200, r.status(), r.raw());
    List<String> kinds = new ArrayList<>();
    r.json().path("events").forEach(e -> kinds.add(e.path("kind").asText()));
    return kinds;
  }

  @Test
  void aDeletedSandboxSaysWhenAndKeepsItsEvents() throws Exception {
    String id = host.createSandbox();
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());

    String message = error("GET", "/v1/sandboxes/" + id, null, "SANDBOX_DELETED").path("message").asText();
    assertTrue(message.matches("sandbox " + id + " was deleted at 20\\d\\d-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ by a request; its events stay readable "
        + "until 20.*Z \\(GET /v1/sandboxes/" + id + "/events\\)"), message);
    // Every other operation on the id answers the same.
    error("DELETE", "/v1/sandboxes/" + id, null, "SANDBOX_DELETED");
    error("POST", "/v1/sandboxes/" + id + "/exec", Map.of("argv", List.of("true")), "SANDBOX_DELETED");
    error("POST", "/v1/sandboxes/" + id + "/pause", null, "SANDBOX_DELETED");
    error("GET", "/v1/sandboxes/" + id + "/files?path=/etc/passwd", null, "SANDBOX_DELETED");
    List<String> kinds = eventKinds(id);
    assertEquals("created", kinds.getFirst(), kinds.toString());
    assertEquals("deleted", kinds.getLast(), kinds.toString());
    JsonNode list = host.call("GET", "/v1/sandboxes", null).json().path("sandboxes");
    assertFalse(list.findValuesAsText("id").contains(id), "the list shows no tombstones: " + list);
  }

  @Test
  void anExpiredSandboxSaysWhenItExpiredAndItsTtl() throws Exception {
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "timeoutSeconds", 3));
    await().atMost(Duration.ofSeconds(60)).until(() -> host.call("GET", "/v1/sandboxes/" + id, null).status() == 404);
    String message = error("GET", "/v1/sandboxes/" + id, null, "SANDBOX_EXPIRED").path("message").asText();
    assertTrue(message.matches("sandbox " + id + " expired at 20.*Z \\(TTL 3 s\\) and was deleted; its events stay readable until .*"), message);
    List<String> kinds = eventKinds(id);
    assertEquals("expired", kinds.getLast(), kinds.toString());
    JsonNode last = host.call("GET", "/v1/sandboxes/" + id + "/events", null).json().path("events").get(kinds.size() - 1);
    assertTrue(last.path("message").asText().startsWith("expired: its TTL of 3 s ran out at "), last.toString());
  }

  @Test
  void theReaperPurgesTombstonesAfterTheRetention() throws Exception {
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "timeoutSeconds", 0));
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
    error("GET", "/v1/sandboxes/" + id, null, "SANDBOX_DELETED");
    host.daemon.sandboxes().reapExpired(Instant.now().plus(Duration.ofHours(23)));
    error("GET", "/v1/sandboxes/" + id, null, "SANDBOX_DELETED"); // the default retention is 24 h
    host.daemon.sandboxes().reapExpired(Instant.now().plus(Duration.ofHours(25))); // a reaper pass a day later
    error("GET", "/v1/sandboxes/" + id, null, "SANDBOX_NOT_FOUND");
    error("GET", "/v1/sandboxes/" + id + "/events", null, "SANDBOX_NOT_FOUND");
  }
}
