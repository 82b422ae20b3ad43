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
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A failure inside the daemon reaches the client as a generic message with an incident id, never as a Java exception. */
class ApiHandlerTest {
  private static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|dev\\.kiln|com\\.fasterxml|org\\.eclipse)\\.[a-z]|Exception\\b|\\$[A-Z]");
  private Server server;
  private String base;

  @BeforeEach
  void up() throws Exception {
    server = new Server();
    ServerConnector c = new ServerConnector(server);
    c.setHost("127.0.0.1");
    server.addConnector(c);
    // /healthz needs no key, so the handler runs without ApiKeys; ?fail= picks what the "route" throws.
    server.setHandler(new ApiHandler(List.of(new Route("GET", "/healthz", x -> {
      switch (x.query("fail")) {
        case "npe" -> throw new NullPointerException("Cannot invoke \"dev.kiln.vmm.RunningVm.resume()\" because \"vm\" is null");
        case "jdk-iae" -> throw new IllegalArgumentException("No enum constant dev.kiln.sandbox.SandboxState.SLEEPING");
        default -> throw new IllegalArgumentException("field 'x' must be 1..3, got 4");
      }
    })), null, null, null, null));
    server.start();
    base = "http://127.0.0.1:" + c.getLocalPort();
  }

  @AfterEach
  void down() throws Exception {
    server.stop();
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
}
