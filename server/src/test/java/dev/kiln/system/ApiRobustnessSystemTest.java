package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Bad input gets a clear JSON error with the right status, and the daemon keeps serving. */
@Tag("system")
class ApiRobustnessSystemTest extends OneHostTest {

  private static void expectError(TestHost.Reply r, int status, String code) {
    assertEquals(status, r.status(), r.raw());
    JsonNode e = r.json().path("error");
    assertEquals(code, e.path("code").asText(), r.raw());
    assertTrue(e.path("message").asText().length() > 3, r.raw());
  }

  @Test
  void missingOrWrongKeyIs401() throws Exception {
    for (String auth : new String[] {null, "Bearer nope", "Basic abc"}) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes"));
      if (auth != null) b.header("Authorization", auth);
      HttpResponse<String> r = host.http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(401, r.statusCode());
      assertEquals("UNAUTHORIZED", TestHost.JSON.readTree(r.body()).path("error").path("code").asText());
    }
    HttpResponse<String> health = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, health.statusCode());
    HttpResponse<String> xKey = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/templates")).header("X-API-Key", host.key).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, xKey.statusCode());
  }

  @Test
  void malformedBodies() throws Exception {
    expectError(host.call("POST", "/v1/sandboxes", "{not json"), 400, "INVALID_JSON");
    expectError(host.call("POST", "/v1/sandboxes", "[]"), 400, "INVALID_JSON");
    expectError(host.call("POST", "/v1/sandboxes", "{\"template\": 5, \"vcpus\": \"two\"}"), 400, "INVALID_JSON");
    expectError(host.call("POST", "/v1/sandboxes", "{\"template\": \"busybox\", \"surprise\": 1}"), 400, "INVALID_REQUEST");
    expectError(host.call("POST", "/v1/sandboxes", "{}"), 400, "INVALID_REQUEST");
    expectError(host.call("POST", "/v1/sandboxes", Map.of("template", "nope")), 404, "TEMPLATE_NOT_FOUND");
    // Sizes no host could give are invalid input; 422 is for valid ones this host cannot (BadInputSystemTest has both).
    expectError(host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "vcpus", 999)), 400, "INVALID_REQUEST");
    expectError(host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "memoryMib", 1)), 400, "INVALID_REQUEST");
    expectError(host.call("POST", "/v1/sandboxes", "{\"template\":\"" + "x".repeat(2 << 20) + "\"}"), 413, "PAYLOAD_TOO_LARGE");
  }

  @Test
  void unknownIdsRoutesAndMethods() throws Exception {
    expectError(host.call("GET", "/v1/sandboxes/sb-aaaaaaaaaaaaaaaa", null), 404, "SANDBOX_NOT_FOUND");
    // Encoded separators are refused before routing: no route ever sees a path that means two things.
    expectError(host.call("GET", "/v1/sandboxes/..%2F..%2Fetc", null), 400, "INVALID_REQUEST");
    expectError(host.call("GET", "/v1/sandboxes/sb-..etc", null), 404, "SANDBOX_NOT_FOUND");
    expectError(host.call("POST", "/v1/sandboxes/sb-aaaaaaaaaaaaaaaa/exec", Map.of("argv", java.util.List.of("true"))), 404, "SANDBOX_NOT_FOUND");
    expectError(host.call("GET", "/v1/nothing", null), 404, "ROUTE_NOT_FOUND");
    expectError(host.call("PATCH", "/v1/sandboxes", null), 405, "METHOD_NOT_ALLOWED");
    expectError(host.call("DELETE", "/v1/templates/nope", null), 404, "TEMPLATE_NOT_FOUND");
  }

  @Test
  void templateInUseCannotBeDeleted() throws Exception {
    String id = host.createSandbox();
    expectError(host.call("DELETE", "/v1/templates/" + TestHost.TEMPLATE, null), 409, "TEMPLATE_IN_USE");
    // File paths must be absolute; relative ones never reach the guest.
    expectError(host.call("GET", "/v1/sandboxes/" + id + "/files?path=etc/passwd", null), 400, "INVALID_REQUEST");
    expectError(host.call("GET", "/v1/sandboxes/" + id + "/files", null), 400, "INVALID_REQUEST");
    host.call("DELETE", "/v1/sandboxes/" + id, null);
  }

  @Test
  void hugeHeadersGetAJsonError() throws Exception {
    HttpResponse<String> r = host.http.send(HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes"))
        .header("X-Junk", "y".repeat(64 * 1024)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(431, r.statusCode());
    assertEquals("HEADERS_TOO_LARGE", TestHost.JSON.readTree(r.body()).path("error").path("code").asText());
  }

  @Test
  void aRequestRefusedBeforeItsBodyIsReadIsAnsweredAfterTheBodyOnAConnectionThatStaysOpen() throws Exception {
    URI base = URI.create(host.base);
    byte[] body = new byte[4 << 20];
    try (Socket s = new Socket(base.getHost(), base.getPort())) {
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      InputStream in = new BufferedInputStream(s.getInputStream());
      // Refused by its path (no such sandbox) before any of the body is read. Answered at once and
      // closed on the unread body, the connection was reset and the client could lose the answer.
      out.write(("PUT /v1/sandboxes/sb-nosuchsandbox00000/files?path=/tmp/x HTTP/1.1\r\nHost: kiln\r\nAuthorization: Bearer " + host.key
          + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write(body);
      out.flush();
      String refused = response(in);
      assertTrue(refused.startsWith("HTTP/1.1 404") && refused.contains("SANDBOX_NOT_FOUND"), refused);
      assertTrue(!refused.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), refused);
      out.write("GET /healthz HTTP/1.1\r\nHost: kiln\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String next = response(in);
      assertTrue(next.startsWith("HTTP/1.1 200"), "the next request on the same connection: " + next);
    }
  }

  /** One HTTP/1.1 response with a Content-Length, head and body, read off a connection that stays open. */
  private static String response(InputStream in) throws Exception {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int c = in.read();
      if (c < 0) throw new AssertionError("the connection closed after: " + head);
      head.append((char) c);
    }
    java.util.regex.Matcher length = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
    byte[] body = length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : new byte[0];
    return head + new String(body, StandardCharsets.UTF_8);
  }
}
