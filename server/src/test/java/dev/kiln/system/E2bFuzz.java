package dev.kiln.system;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Malformed requests for E2B's API, drawn from a seeded random: Connect calls with random bytes,
 * JSON of the wrong shape, envelopes whose flags or lengths lie, broken multipart uploads, bad
 * tokens and unknown sandboxes, and control-plane bodies and queries that are not what E2B sends.
 * Paths that name files stay under /tmp/fuzz, so no draw harms the guest the test goes on using.
 */
final class E2bFuzz {
  record Case(String description, String method, String path, Map<String, String> headers, byte[] body, boolean unknownSandbox) {
    HttpRequest.Builder request(String base) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
      headers.forEach(b::header);
      return b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    }
  }

  private static final List<String> UNARY = List.of("/process.Process/List", "/process.Process/SendInput", "/process.Process/CloseStdin",
      "/process.Process/SendSignal", "/process.Process/Update", "/process.Process/StreamInput", "/filesystem.Filesystem/Stat",
      "/filesystem.Filesystem/ListDir", "/filesystem.Filesystem/MakeDir", "/filesystem.Filesystem/Move", "/filesystem.Filesystem/Remove",
      "/filesystem.Filesystem/CreateWatcher", "/process.Process/Nope", "/filesystem.Filesystem/");
  private static final List<String> STREAMING = List.of("/process.Process/Start", "/process.Process/Connect", "/filesystem.Filesystem/WatchDir");
  /** JSON of the wrong shape, or of the right shape with values no call takes. */
  private static final List<String> BODIES = List.of("{}", "[]", "null", "5", "\"x\"", "{\"path\":5}", "{\"path\":[\"/\"]}", "{\"path\":\"\"}",
      "{\"path\":\"/tmp/fuzz/nope\",\"depth\":-1}", "{\"path\":\"/tmp/fuzz\",\"depth\":\"x\"}", "{\"path\":\"/tmp/fuzz\",\"depth\":99999999999}",
      "{\"process\":\"x\"}", "{\"process\":{\"pid\":\"abc\"}}", "{\"process\":{\"pid\":-3}}", "{\"process\":{\"pid\":4294967296}}",
      "{\"process\":{\"tag\":\"t\"}}", "{\"process\":{\"pid\":999999},\"signal\":\"SIGNAL_NOPE\"}", "{\"process\":{\"pid\":999999},\"signal\":9}",
      "{\"process\":{\"pid\":999999},\"input\":{\"stdin\":\"not base64!!\"}}", "{\"process\":{\"pid\":999999},\"input\":{\"stdin\":5}}",
      "{\"process\":{\"pid\":999999},\"pty\":{\"size\":{\"cols\":0,\"rows\":70000}}}", "{\"process\":{\"cmd\":5}}", "{\"process\":{\"cmd\":\"\"}}",
      "{\"process\":{\"cmd\":\"/no/such/program\",\"args\":[1,2]}}", "{\"process\":{\"cmd\":\"/no/such/program\",\"envs\":{\"A\":1}}}",
      "{\"process\":{\"cmd\":\"/no/such/program\"},\"pty\":{\"size\":{\"cols\":\"wide\"}}}", "{\"source\":\"/tmp/fuzz/a\"}",
      "{\"source\":\"/tmp/fuzz/a\",\"destination\":7}", "{\"path\":\"/tmp/fuzz\",\"recursive\":\"yes\"}", "{\"path\":\"relative/../../x\"}",
      "{\"path\":\"/tmp/fuzz/" + "a".repeat(5000) + "\"}", "{\"path\":\"/tmp/fuzz\"", "{\"path\":\"/tmp/fuzz\"}}", "{\"a\":" + "[".repeat(3000),
      "\uFEFF{}", "{\"path\":\"\\ud800\"}");

  private final Random random;
  private final String sandbox;
  private final String token;
  private final String apiKey;

  E2bFuzz(Random random, String sandbox, String token, String apiKey) {
    this.random = random;
    this.sandbox = sandbox;
    this.token = token;
    this.apiKey = apiKey;
  }

  Case next() {
    return switch (random.nextInt(7)) {
      case 0 -> rpc(pick(UNARY), "application/json", randomBytes(random.nextInt(300)), "unary, random bytes");
      case 1 -> {
        String body = pick(BODIES);
        yield rpc(pick(UNARY), "application/json", body.getBytes(StandardCharsets.UTF_8), "unary " + body);
      }
      case 2 -> streaming();
      case 3 -> upload();
      case 4 -> control();
      case 5 -> wrongAuth();
      default -> {
        String body = pick(BODIES);
        String type = pick(List.of("text/plain", "application/connect+json", "application/json; charset=latin1", "", "multipart/form-data"));
        yield rpc(pick(UNARY), type, body.getBytes(StandardCharsets.UTF_8), "unary as " + type);
      }
    };
  }

  private Case streaming() {
    String method = pick(STREAMING);
    byte[] message = pick(BODIES).getBytes(StandardCharsets.UTF_8);
    byte[] body;
    String how;
    switch (random.nextInt(5)) {
      case 0 -> {
        body = envelope(random.nextInt(256), message.length, message);
        how = "envelope with random flags";
      }
      case 1 -> {
        body = envelope(0, message.length + 1 + random.nextInt(1 << 20), message);
        how = "envelope longer than its body";
      }
      case 2 -> {
        body = java.util.Arrays.copyOf(envelope(0, message.length, message), random.nextInt(5));
        how = "truncated envelope";
      }
      case 3 -> {
        body = message;
        how = "JSON without an envelope";
      }
      default -> {
        body = envelope(0, message.length, message);
        how = "well-formed envelope of " + new String(message, StandardCharsets.UTF_8);
      }
    }
    Case c = rpc(method, "application/connect+json", body, method + ", " + how);
    c.headers().put("Connect-Timeout-Ms", Integer.toString(1 + random.nextInt(1500)));
    return c;
  }

  private Case upload() {
    String boundary = "b" + random.nextInt(1000);
    List<String> bodies = List.of("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/tmp/fuzz/u\"\r\n\r\nno closing delimiter",
        "--" + boundary + "\r\n" + "X: " + "y".repeat(20_000) + "\r\n\r\nbig header\r\n--" + boundary + "--\r\n",
        "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno filename\r\n--" + boundary + "--\r\n",
        "--" + boundary + "--\r\n", "not multipart at all", "--" + boundary + "\r\nbroken header line\r\n\r\nx\r\n--" + boundary + "--\r\n");
    String query = pick(List.of("", "?path=/tmp/fuzz/u", "?path=", "?username=%00", "?path=/proc/self/../../tmp/fuzz/u"));
    String type = pick(List.of("multipart/form-data; boundary=" + boundary, "multipart/form-data", "multipart/form-data; boundary=\"\"",
        "application/octet-stream", "image/png"));
    Case c = new Case("upload " + type + query, "POST", "/files" + query, envdHeaders(type), pick(bodies).getBytes(StandardCharsets.ISO_8859_1), false);
    if (type.equals("application/octet-stream") && random.nextBoolean()) c.headers().put("Content-Encoding", pick(List.of("gzip", "br", "x")));
    return c;
  }

  private Case control() {
    Map<String, String> h = new LinkedHashMap<>(Map.of("X-API-KEY", apiKey, "Content-Type", "application/json"));
    String body = pick(List.of("{}", "{\"templateID\":5}", "{\"templateID\":\"no-such-template\"}", "{\"templateID\":\"x\",\"timeout\":-1}",
        "{\"templateID\":\"x\",\"metadata\":{\"a\":1}}", "{\"templateID\":\"x\",\"mcp\":{}}", "{\"templateID\":\"x\",\"network\":{\"rules\":[]}}",
        "{\"timeout\":\"soon\"}", "[", "{\"templateID\":\"x\",\"envVars\":[]}"));
    String path = pick(List.of("/v2/sandboxes", "/sandboxes", "/sandboxes/" + sandbox + "/timeout", "/sandboxes/nope/timeout", "/v2/sandboxes/nope/connect",
        "/sandboxes/" + sandbox + "/refreshes", "/sandboxes/" + sandbox + "/fork"));
    if (random.nextInt(4) == 0) {
      String query = pick(List.of("?limit=abc", "?limit=0", "?state=running,zombie", "?metadata=a%3D%25zz", "?metadata=novalue", "?nextToken=!!!"));
      return new Case("list " + query, "GET", "/v2/sandboxes" + query, h, null, false);
    }
    return new Case("control " + path + " " + body, "POST", path, h, body.getBytes(StandardCharsets.UTF_8), false);
  }

  private Case wrongAuth() {
    Map<String, String> h = new LinkedHashMap<>(Map.of("Content-Type", "application/json"));
    boolean unknown = random.nextBoolean();
    h.put("E2b-Sandbox-Id", unknown ? pick(List.of("sb-nope", "", "../../etc", "x".repeat(300))) : sandbox);
    if (random.nextBoolean()) h.put("X-Access-Token", pick(List.of("wrong", token + "x", "")));
    String path = pick(List.of("/filesystem.Filesystem/Stat", "/files?path=/etc/hostname", "/process.Process/List", "/health"));
    String method = path.startsWith("/files") || path.equals("/health") ? "GET" : "POST";
    return new Case("auth " + h + " " + path, method, path, h, method.equals("GET") ? null : "{\"path\":\"/\"}".getBytes(StandardCharsets.UTF_8), unknown);
  }

  private Case rpc(String path, String type, byte[] body, String description) {
    return new Case(description, "POST", path, envdHeaders(type), body, false);
  }

  private Map<String, String> envdHeaders(String type) {
    Map<String, String> h = new LinkedHashMap<>();
    h.put("E2b-Sandbox-Id", sandbox);
    h.put("X-Access-Token", token);
    h.put("Connect-Protocol-Version", "1");
    if (!type.isEmpty()) h.put("Content-Type", type);
    return h;
  }

  private static byte[] envelope(int flags, int declared, byte[] message) {
    byte[] out = new byte[5 + message.length];
    out[0] = (byte) flags;
    out[1] = (byte) (declared >>> 24);
    out[2] = (byte) (declared >>> 16);
    out[3] = (byte) (declared >>> 8);
    out[4] = (byte) declared;
    System.arraycopy(message, 0, out, 5, message.length);
    return out;
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  private <T> T pick(List<T> options) {
    return options.get(random.nextInt(options.size()));
  }
}
