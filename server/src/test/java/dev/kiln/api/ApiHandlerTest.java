package dev.kiln.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A failure inside the daemon reaches the client as a generic message with an incident id, never as a Java exception. */
class ApiHandlerTest {
  private static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|dev\\.kiln|com\\.fasterxml|org\\.eclipse)\\.[a-z]|Exception\\b|\\$[A-Z]");
  private LoopbackServer server;
  private String base;

  @BeforeEach
  void up() throws Exception {
    // /healthz needs no key, so the handler runs without ApiKeys; ?fail= picks what the "route" throws.
    server = LoopbackServer.start(new ApiHandler(List.of(new Route("POST", "/healthz", x -> x.json(200, x.jsonBytes().length)), new Route("GET", "/healthz", x -> {
      switch (x.query("fail")) {
        case "npe" -> throw new NullPointerException("Cannot invoke \"dev.kiln.vmm.RunningVm.resume()\" because \"vm\" is null");
        case "jdk-iae" -> throw new IllegalArgumentException("No enum constant dev.kiln.sandbox.SandboxState.SLEEPING");
        default -> throw new IllegalArgumentException("field 'x' must be 1..3, got 4");
      }
    })), null, null, null, null));
    base = server.base();
  }

  @AfterEach
  void down() throws Exception {
    server.close();
  }

  private JsonNode get(String query, int status) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/healthz?fail=" + query)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(status, r.statusCode(), r.body());
      assertFalse(JAVA_NAME.matcher(r.body()).find(), r.body());
      return Exchange.JSON.readTree(r.body()).path("error");
    }
  }

  @Test
  void aBugIsAGeneric500WithAnIncidentId() throws Exception {
    JsonNode e = get("npe", 500);
    assertEquals("INTERNAL", e.path("code").asText());
    assertTrue(e.path("message").asText().matches("the daemon failed with an internal error \\(incident i-[0-9a-f]+ in its log\\); this is a bug in Kiln, "
        + "not in the request"), e.toString());
  }

  @Test
  void aMessageNamingJavaTypesIsReplacedButKeepsItsCode() throws Exception {
    JsonNode e = get("jdk-iae", 400);
    assertEquals("INVALID_REQUEST", e.path("code").asText());
    assertTrue(e.path("message").asText().startsWith("invalid request (details in the daemon's log, incident i-"), e.toString());
  }

  @Test
  void aMessageForUsersPassesAsItIs() throws Exception {
    assertEquals("field 'x' must be 1..3, got 4", get("other", 400).path("message").asText());
    assertEquals("network: 'java.com' and 'sun.example' are names, not classes",
        UserMessages.of("INVALID_REQUEST", "network: 'java.com' and 'sun.example' are names, not classes"));
    assertTrue(UserMessages.of("INTERNAL", "boom: java.io.UncheckedIOException: x").startsWith("internal (details in the daemon's log"));
    assertTrue(UserMessages.of("INVALID_JSON", "cannot bind Bodies$CreateSandbox").startsWith("invalid json (details"));
  }

  @Test
  void aBodyOverTheLimitIsAnswered413NotAResetConnection() throws Exception {
    // The daemon stops reading at 1 MiB; unread bytes at its close would reset the connection, and the
    // reset could beat the answer to the client (ApiFuzzSystemTest saw "no response" once in a CI run).
    java.util.Random rnd = new java.util.Random();
    for (int i = 0; i < 30; i++) {
      String body = "{\"template\":\"" + "x".repeat((1 << 20) + rnd.nextInt(1 << 16)) + "\"}";
      try (HttpClient http = HttpClient.newHttpClient()) {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + "/healthz")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(413, r.statusCode(), r.body());
        assertEquals("PAYLOAD_TOO_LARGE", Exchange.JSON.readTree(r.body()).path("error").path("code").asText());
      }
    }
  }

  @Test
  void aBrowsersChangeFromAnotherSiteIsRefusedAndFromItsOwnPagesPasses() throws Exception {
    String body = "{}";
    assertEquals(403, post(java.util.Map.of("Origin", "http://evil.example"), body).statusCode());
    assertEquals(403, post(java.util.Map.of("Sec-Fetch-Site", "cross-site"), body).statusCode());
    assertEquals(403, post(java.util.Map.of("Origin", "null"), body).statusCode());
    HttpResponse<String> refused = post(java.util.Map.of("Origin", "http://localhost:1"), body);
    assertEquals("FORBIDDEN", Exchange.JSON.readTree(refused.body()).path("error").path("code").asText(), refused.body());
    // Its own origin (the Host it was sent to), and clients that are not browsers (no Origin at all).
    assertEquals(200, post(java.util.Map.of("Origin", base), body).statusCode());
    assertEquals(200, post(java.util.Map.of("Sec-Fetch-Site", "same-origin", "Origin", base), body).statusCode());
    assertEquals(200, post(java.util.Map.of(), body).statusCode());
  }

  private HttpResponse<String> post(java.util.Map<String, String> headers, String body) throws Exception {
    try (HttpClient http = HttpClient.newHttpClient()) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/healthz")).POST(HttpRequest.BodyPublishers.ofString(body));
      headers.forEach(b::header);
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
  }
}
