package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Thousands of malformed and hostile requests, generated from a seed the test prints: every answer
 * must be a 4xx with a well-formed {"error":{"code","message"}} body, and the daemon and a live
 * sandbox must be fine afterwards.
 */
@Tag("system")
class ApiFuzzSystemTest extends OneSandboxTest {
  private static final int ROUNDS = 1200;
  private record Probe(String method, String path, String body, Map<String, String> headers) {}

  @Test
  void malformedAndHostileRequestsGetWellFormed4xx() throws Exception {
    long seed = System.nanoTime();
    System.out.println("api fuzz seed " + seed);
    Random rnd = new Random(seed);
    List<Supplier<Probe>> kinds = kinds(rnd);
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < ROUNDS; i++) {
      Probe p = kinds.get(rnd.nextInt(kinds.size())).get();
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(host.base + p.path()))
          .method(p.method(), p.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(p.body()));
      p.headers().forEach(b::header);
      String problem;
      // A connection per request: the daemon closes a connection after answering a request whose
      // body it would not read, and a pooled connection would blur which request went unanswered.
      try (java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient()) {
        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        problem = check(r.statusCode(), r.body());
      } catch (java.io.IOException e) {
        problem = "no response: " + e.getMessage();
      }
      if (problem != null && failures.size() < 20) failures.add(p.method() + " " + abbreviate(p.path()) + " body=" + abbreviate(p.body()) + ": " + problem);
    }
    assertTrue(failures.isEmpty(), "seed " + seed + ":\n" + String.join("\n", failures));
    rawProtocolAbuse();
    assertEquals(200, host.call("GET", "/healthz", null).status(), "the daemon is still up");
    assertEquals("ok\n", host.call("POST", "/v1/sandboxes/" + sandbox + "/exec", Map.of("argv", List.of("echo", "ok"))).json().path("stdout").asText(),
        "the sandbox still works");
  }

  /** Null when the answer is a 4xx with our error body. */
  private static String check(int status, String body) {
    if (status < 400 || status >= 500) return "status " + status + " " + abbreviate(body);
    try {
      JsonNode e = TestHost.JSON.readTree(body).path("error");
      if (!e.path("code").isTextual() || !e.path("message").isTextual()) return "no error.code/message in " + abbreviate(body);
    } catch (Exception ex) {
      return "body is not JSON: " + abbreviate(body);
    }
    return null;
  }

  private static Map<String, String> auth() {
    return Map.of("Authorization", "Bearer " + host.key, "Content-Type", "application/json");
  }

  private static List<Supplier<Probe>> kinds(Random rnd) {
    String sb = "/v1/sandboxes/" + sandbox;
    List<String> jsonPosts = List.of("/v1/sandboxes", sb + "/exec", sb + "/timeout", "/v1/templates");
    return List.of(
        // Broken JSON.
        () -> new Probe("POST", pick(rnd, jsonPosts), brokenJson(rnd), auth()),
        // Well-formed JSON of the wrong shape or types.
        () -> new Probe("POST", pick(rnd, jsonPosts), wrongTypes(rnd), auth()),
        // Checkpoint, fork and pool requests that cannot be carried out.
        () -> new Probe("POST", sb + "/checkpoints", pick(rnd, List.of("{}", "{\"name\":\"\"}", "{\"name\":\"../x\"}", "{\"name\":\"a b\"}",
            "{\"name\":5}", "{\"name\":\"" + "x".repeat(65) + "\"}", "{\"name\":null}")), auth()),
        () -> new Probe("POST", sb + "/fork", pick(rnd, List.of("{\"count\":0}", "{\"count\":-1}", "{\"count\":33}", "{\"count\":\"many\"}",
            "{\"checkpoint\":\"none\"}", "{\"count\":1e9}", "{\"count\":2,\"checkpoint\":\"../../x\"}")), auth()),
        () -> new Probe(pick(rnd, List.of("POST", "DELETE")), sb + "/checkpoints/" + hostileSegment(rnd) + pick(rnd, List.of("", "/restore")), null, auth()),
        () -> new Probe("PUT", "/v1/pools/" + pick(rnd, List.of(TestHost.TEMPLATE, hostileSegment(rnd))), pick(rnd, List.of("{\"minReady\":5,\"maxReady\":1}",
            "{\"minReady\":-1,\"maxReady\":1}", "{\"minReady\":1}", "{\"minReady\":0,\"maxReady\":17}", "[]")), auth()),
        () -> new Probe("DELETE", "/v1/pools/" + hostileSegment(rnd), null, auth()),
        // Background process requests that cannot be carried out.
        () -> new Probe("POST", sb + "/processes", pick(rnd, List.of("{}", "{\"argv\":[]}", "{\"argv\":\"ls\"}", "{\"argv\":[\"true\"],\"stdin\":\"yes\"}",
            "{\"command\":\"true\",\"timeoutSeconds\":-1}", "{\"argv\":[\"/no/such/binary\"]}", "{\"argv\":[null]}")), auth()),
        () -> new Probe(pick(rnd, List.of("GET", "POST")), sb + "/processes/" + pick(rnd, List.of("-1", "abc", "99999999", "1e3", hostileSegment(rnd)))
            + pick(rnd, List.of("", "/output?cursor=-5", "/output?cursor=x", "/signal", "/stdin", "/stdin?close=true")),
            pick(rnd, List.of("", "{\"signal\":\"NOPE\"}", "{\"signal\":99}", "junk")), auth()),
        // Exec requests that cannot run.
        () -> new Probe("POST", sb + "/exec", pick(rnd, List.of("{}", "{\"argv\":[]}", "{\"argv\":[null]}", "{\"argv\":\"ls\"}",
            "{\"argv\":[\"true\"],\"command\":\"true\"}", "{\"command\":\"true\",\"timeoutSeconds\":-1}", "{\"argv\":[\"/no/such/binary\"]}",
            "{\"argv\":[\"true\"],\"user\":\"no-such-user\"}", "{\"argv\":[\"true\"],\"user\":\"../../etc\"}", "{\"argv\":[\"true\"],\"env\":{\"A\":1}}")), auth()),
        // Unknown or hostile ids.
        () -> new Probe(pick(rnd, List.of("GET", "DELETE")), "/v1/sandboxes/" + hostileSegment(rnd), null, auth()),
        () -> new Probe("POST", "/v1/sandboxes/" + hostileSegment(rnd) + "/exec", "{\"argv\":[\"true\"]}", auth()),
        () -> new Probe(pick(rnd, List.of("GET", "DELETE")), "/v1/templates/" + hostileSegment(rnd), null, auth()),
        // File paths that are not absolute, are too long, or hold a NUL.
        () -> new Probe(pick(rnd, List.of("GET", "DELETE")), sb + pick(rnd, List.of("/files", "/files/list", "/files/stat")) + "?path="
            + URLEncoder.encode(hostilePath(rnd), StandardCharsets.UTF_8), null, auth()),
        () -> new Probe("GET", sb + "/files", null, auth()),
        // Missing or wrong credentials, on every kind of route.
        () -> new Probe(pick(rnd, List.of("GET", "POST", "DELETE")), pick(rnd, List.of("/v1/sandboxes", sb, sb + "/exec", "/v1/templates", "/v1/nothing")),
            "{}", pick(rnd, List.of(Map.of(), Map.of("Authorization", "Bearer wrong"), Map.of("Authorization", "Basic a2lsbjpraWxu"),
                Map.of("X-API-Key", "x".repeat(rnd.nextInt(2000) + 1)), Map.of("Authorization", "Bearer ")))),
        // Unknown routes and methods.
        () -> new Probe(pick(rnd, List.of("PATCH", "PUT", "DELETE", "POST")), pick(rnd, List.of("/v1/sandboxes", "/v1/templates", "/v2/x", "/v1/sandboxes/x/y/z")),
            "{}", auth()),
        // Bodies far over the 1 MiB JSON limit.
        () -> new Probe("POST", pick(rnd, jsonPosts), "{\"template\":\"" + "x".repeat((1 << 20) + rnd.nextInt(1 << 16)) + "\"}", auth()),
        // Deep nesting.
        () -> new Probe("POST", pick(rnd, jsonPosts), "[".repeat(2000 + rnd.nextInt(5000)) + "]".repeat(10), auth()),
        // A header far over the 16 KiB limit.
        () -> new Probe("GET", "/v1/sandboxes", null, Map.of("Authorization", "Bearer " + host.key, "X-Junk", "j".repeat(20_000 + rnd.nextInt(20_000)))));
  }

  private static String brokenJson(Random rnd) {
    return switch (rnd.nextInt(6)) {
      case 0 -> "{";
      case 1 -> "{\"template\":";
      case 2 -> "not json at all";
      case 3 -> "{\"template\":\"busybox\",}";
      case 4 -> new String(randomBytes(rnd, rnd.nextInt(200) + 1), StandardCharsets.ISO_8859_1);
      default -> "{\"template\":\"busybox\"}garbage";
    };
  }

  private static String wrongTypes(Random rnd) {
    return pick(rnd, List.of("[]", "42", "null", "\"string\"", "{\"template\":123}", "{\"template\":[\"a\"]}", "{\"template\":\"busybox\",\"vcpus\":\"two\"}",
        "{\"template\":\"busybox\",\"memoryMib\":1e400}", "{\"template\":\"busybox\",\"timeoutSeconds\":-5}", "{\"template\":\"busybox\",\"vcpus\":0}",
        "{\"template\":\"busybox\",\"metadata\":{\"k\":[1]}}", "{\"template\":\"busybox\",\"onTimeout\":\"later\"}", "{\"unknownField\":true}",
        "{\"timeoutSeconds\":\"soon\"}", "{\"name\":\"Bad Name!\",\"directory\":\"/tmp\"}", "{\"name\":\"x\",\"image\":\"::::\"}",
        "{\"name\":\"x\"}", "{\"name\":\"x\",\"image\":\"a\",\"directory\":\"/b\"}", "{\"name\":\"x\",\"directory\":\"relative/path\"}"));
  }

  private static String hostileSegment(Random rnd) {
    return pick(rnd, List.of("sb-aaaaaaaaaaaaaaaa", "..", "%2e%2e", "sb-" + "z".repeat(rnd.nextInt(300)), "%00", "%20", "%ff%fe", "sb-AAAA",
        "-", URLEncoder.encode(new String(randomBytes(rnd, 20), StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8)));
  }

  private static String hostilePath(Random rnd) {
    return pick(rnd, List.of("relative/file", "../../etc/passwd", "", "/" + "a".repeat(5000), "/tmp/\u0000x", "~/x", "./x"));
  }

  /** HTTP that java.net.http will not send: a broken request line, a bare LF, an absurd method. */
  private static void rawProtocolAbuse() throws Exception {
    String hostPort = URI.create(host.base).getAuthority();
    String[] host_port = hostPort.split(":");
    // An unknown HTTP version is the one malformed request HTTP answers with a 5xx: 505.
    Map<String, String> expected = Map.of("GARBAGE\r\n\r\n", "HTTP/1.1 4", "GET /v1/sandboxes HTTP/9.9\r\nHost: x\r\n\r\n", "HTTP/1.1 505",
        "GET\r\n\r\n", "HTTP/1.1 4", "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 4",
        "GET /v1/sandboxes HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 4");
    for (String req : expected.keySet()) {
      try (Socket s = new Socket(host_port[0], Integer.parseInt(host_port[1]))) {
        s.setSoTimeout(5000);
        OutputStream out = s.getOutputStream();
        out.write(req.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        InputStream in = s.getInputStream();
        String status = new String(in.readNBytes(12), StandardCharsets.ISO_8859_1);
        assertTrue(status.startsWith(expected.get(req)), expected.get(req) + "xx for " + req.strip() + ", got '" + status + "'");
      }
    }
  }

  private static byte[] randomBytes(Random rnd, int n) {
    byte[] b = new byte[n];
    rnd.nextBytes(b);
    return b;
  }

  private static <T> T pick(Random rnd, List<T> options) {
    return options.get(rnd.nextInt(options.size()));
  }

  private static String abbreviate(String s) {
    return s == null ? "null" : s.length() > 120 ? s.substring(0, 120) + "…(" + s.length() + ")" : s;
  }
}
