package dev.kiln.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A connection to a Kiln daemon: its URL and API key. Thread-safe; share one per application.
 *
 * <pre>{@code
 * Kiln kiln = Kiln.fromEnvironment();              // KILN_URL, KILN_API_KEY
 * try (Sandbox sb = Sandbox.create(kiln, "base")) {
 *   System.out.println(sb.commands().run("echo hi").stdout());
 * }
 * }</pre>
 */
public final class Kiln {
  static final ObjectMapper JSON = new ObjectMapper();
  private final URI base;
  private final String apiKey;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  /** @throws IllegalArgumentException unless {@code baseUrl} is an http:// or https:// URL with a host */
  public Kiln(String baseUrl, String apiKey) {
    this.base = baseUri(baseUrl);
    this.apiKey = apiKey;
  }

  /**
   * The daemon's base URL, checked: http or https, a host, no query. Without this a URL like
   * {@code 127.0.0.1:7788} fails only at the first request, with a message about URI syntax.
   */
  public static URI baseUri(String url) {
    String trimmed = url.strip().replaceAll("/+$", "");
    URI u;
    try {
      u = new URI(trimmed);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("KILN_URL '" + url + "' is not a URL (" + e.getReason() + "); expected one like http://127.0.0.1:7788");
    }
    if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
      throw new IllegalArgumentException("KILN_URL '" + url + "' needs http:// or https:// and a host, like http://127.0.0.1:7788");
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null) {
      throw new IllegalArgumentException("KILN_URL '" + url + "' must not have a query or fragment; expected one like http://127.0.0.1:7788");
    }
    return u;
  }

  /** KILN_URL (default http://127.0.0.1:7788) and KILN_API_KEY. */
  public static Kiln fromEnvironment() {
    return new Kiln(System.getenv().getOrDefault("KILN_URL", "http://127.0.0.1:7788"), System.getenv().getOrDefault("KILN_API_KEY", ""));
  }

  JsonNode get(String path) {
    return send(request(path).GET());
  }

  JsonNode post(String path, Object body) {
    return send(json(request(path), body).POST(HttpRequest.BodyPublishers.ofByteArray(bytes(body))));
  }

  JsonNode delete(String path) {
    return send(request(path).DELETE());
  }

  JsonNode put(String path, HttpRequest.BodyPublisher body) {
    return send(request(path).header("Content-Type", "application/octet-stream").PUT(body));
  }

  InputStream stream(String path) {
    try {
      HttpResponse<InputStream> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      if (r.statusCode() >= 400) {
        try (InputStream in = r.body()) {
          throw error(r.statusCode(), in.readNBytes(1 << 20));
        }
      }
      return r.body();
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KilnException("interrupted", e);
    }
  }

  WebSocket webSocket(String path, WebSocket.Listener listener) {
    WebSocket.Builder b = http.newWebSocketBuilder();
    if (!apiKey.isEmpty()) b.header("Authorization", "Bearer " + apiKey);
    try {
      return b.buildAsync(URI.create(base.resolve(path).toString().replaceFirst("^http", "ws")), listener).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new KilnException("cannot open a WebSocket to " + path + ": " + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KilnException("interrupted", e);
    }
  }

  static String q(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path));
    if (!apiKey.isEmpty()) b.header("Authorization", "Bearer " + apiKey);
    return b;
  }

  private static HttpRequest.Builder json(HttpRequest.Builder b, Object body) {
    return b.header("Content-Type", "application/json");
  }

  private static byte[] bytes(Object body) {
    try {
      return JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalArgumentException("not serializable as JSON: " + body, e);
    }
  }

  private JsonNode send(HttpRequest.Builder b) {
    try {
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() >= 400) throw error(r.statusCode(), r.body());
      return r.body().length == 0 ? JSON.nullNode() : JSON.readTree(r.body());
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KilnException("interrupted", e);
    }
  }

  private KilnException unreachable(IOException e) {
    return new KilnException("cannot reach the Kiln daemon at " + base + ": " + describeFailure(e), e);
  }

  /** What went wrong on the wire, in words: the JDK's messages are often null or name classes. */
  public static String describeFailure(IOException e) {
    return switch (e) {
      case java.net.ConnectException c -> "connection refused (is `kiln daemon` running there? set KILN_URL)";
      case java.net.http.HttpConnectTimeoutException t -> "no answer to the connection attempt (wrong host or port in KILN_URL, or a firewall)";
      case java.net.http.HttpTimeoutException t -> "the daemon did not answer in time";
      case javax.net.ssl.SSLException s -> "TLS failed (" + (s.getMessage() == null ? "handshake error" : s.getMessage())
          + "); is it an https:// URL for an http:// daemon, or the other way round?";
      case java.net.UnknownHostException u -> "unknown host " + u.getMessage();
      default -> e.getMessage() == null || e.getMessage().isBlank() ? "the connection failed" : e.getMessage();
    };
  }

  private static KilnException error(int status, byte[] body) {
    try {
      JsonNode e = JSON.readTree(body).path("error");
      return new KilnException(status, e.path("code").asText("HTTP_" + status), e.path("message").asText(""));
    } catch (IOException ex) {
      return new KilnException(status, "HTTP_" + status, new String(body, StandardCharsets.UTF_8));
    }
  }
}
