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
 * Every request of the SDK (and of the {@code kiln} CLI, which is built on it) goes through here:
 * the key as a bearer token, the daemon's error body decoded into a {@link KilnException}, and a
 * daemon that cannot be reached said in words. TLS is set up at the first https:// connection,
 * not before, so a plain-HTTP client starts faster.
 *
 * <pre>{@code
 * Kiln kiln = Kiln.fromEnvironment();              // KILN_URL, KILN_API_KEY
 * try (Sandbox sb = Sandbox.create(kiln, "base")) {
 *   System.out.println(sb.commands().run("echo hi").stdout());
 * }
 * }</pre>
 */
public final class Kiln implements AutoCloseable {
  /** Where {@link #fromEnvironment()} looks when KILN_URL is unset: a daemon on this host, on its default port. */
  public static final String DEFAULT_URL = "http://127.0.0.1:7788";
  static final ObjectMapper JSON = new ObjectMapper();
  private final URI base;
  private final String apiKey;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10))
      .sslContext(DeferredTls.context()).sslParameters(DeferredTls.parameters()).build();
  private final KilnApi api = new KilnApi(this);

  /** @throws IllegalArgumentException unless {@code baseUrl} is an http:// or https:// URL with a host */
  public Kiln(String baseUrl, String apiKey) {
    this.base = baseUri(baseUrl);
    this.apiKey = apiKey;
  }

  /**
   * The daemon's base URL, checked: http or https, a host, no query. Without this a URL like
   * {@code 127.0.0.1:7788} fails only at the first request, with a message about URI syntax.
   */
  static URI baseUri(String url) {
    String trimmed = url.strip().replaceAll("/+$", "");
    URI u;
    try {
      u = new URI(trimmed);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("KILN_URL '" + url + "' is not a URL (" + e.getReason() + "); expected one like " + DEFAULT_URL);
    }
    if (u.getScheme() == null || !(u.getScheme().equals("http") || u.getScheme().equals("https")) || u.getHost() == null) {
      throw new IllegalArgumentException("KILN_URL '" + url + "' needs http:// or https:// and a host, like " + DEFAULT_URL);
    }
    if (u.getRawQuery() != null || u.getRawFragment() != null) {
      throw new IllegalArgumentException("KILN_URL '" + url + "' must not have a query or fragment; expected one like " + DEFAULT_URL);
    }
    return u;
  }

  /** KILN_URL (default {@value #DEFAULT_URL}) and KILN_API_KEY. */
  public static Kiln fromEnvironment() {
    return fromEnvironment(DEFAULT_URL);
  }

  /**
   * KILN_URL, or {@code defaultUrl} when it is unset or blank, and KILN_API_KEY.
   *
   * @throws IllegalArgumentException when the URL is not an http(s) URL with a host (the message says so in words)
   */
  public static Kiln fromEnvironment(String defaultUrl) {
    String url = System.getenv("KILN_URL");
    return new Kiln(url == null || url.isBlank() ? defaultUrl : url, System.getenv().getOrDefault("KILN_API_KEY", ""));
  }

  /** The REST API one call at a time, JSON text in and out: for what {@link Sandbox} and its parts do not cover. */
  public KilnApi api() {
    return api;
  }

  /** Releases the HTTP client's connections and thread; the sandboxes live on. Not needed for a Kiln that lives as long as the program. */
  @Override
  public void close() {
    http.shutdownNow();
  }

  JsonNode get(String path) {
    return json(send(request(path).GET()));
  }

  JsonNode post(String path, Object body) {
    return json(send(jsonRequest(path).POST(HttpRequest.BodyPublishers.ofByteArray(bytes(body)))));
  }

  JsonNode delete(String path) {
    return json(send(request(path).DELETE()));
  }

  JsonNode put(String path, HttpRequest.BodyPublisher body) {
    return json(send(request(path).header("Content-Type", "application/octet-stream").PUT(body)));
  }

  /** The response body as a stream, for downloads of any size; an error status is a {@link KilnException} before any byte. */
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
      return b.buildAsync(URI.create(resolve(path).toString().replaceFirst("^http", "ws")), listener).get(30, TimeUnit.SECONDS);
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

  HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(resolve(path));
    if (!apiKey.isEmpty()) b.header("Authorization", "Bearer " + apiKey);
    return b;
  }

  HttpRequest.Builder jsonRequest(String path) {
    return request(path).header("Content-Type", "application/json");
  }

  /** A path below the base URL, which may itself have a path (a daemon behind a prefix). */
  private URI resolve(String path) {
    if (!path.startsWith("/")) throw new IllegalArgumentException("an API path starts with '/', got '" + path + "'");
    return URI.create(base + path);
  }

  static byte[] bytes(Object body) {
    try {
      return JSON.writeValueAsBytes(body);
    } catch (IOException e) {
      throw new IllegalArgumentException("not serializable as JSON: " + body, e);
    }
  }

  /** The body of a successful answer; an error status is a {@link KilnException}. */
  byte[] send(HttpRequest.Builder b) {
    try {
      HttpResponse<byte[]> r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      if (r.statusCode() >= 400) throw error(r.statusCode(), r.body());
      return r.body();
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KilnException("interrupted", e);
    }
  }

  /** A successful answer's body as JSON (null for an empty one): anything else did not come from a Kiln daemon. */
  JsonNode json(byte[] body) {
    if (body.length == 0) return JSON.nullNode();
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      throw new KilnException("the server at " + base + " answered with something that is not JSON; is KILN_URL a Kiln daemon?", e);
    }
  }

  private KilnException unreachable(IOException e) {
    return new KilnException("cannot reach the Kiln daemon at " + base + ": " + describeFailure(e), e);
  }

  /** What went wrong on the wire, in words: the JDK's messages are often null or name classes. */
  static String describeFailure(IOException e) {
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

  /** The API's error body, or, when something else answered (a proxy, another server), a message that says so. */
  private KilnException error(int status, byte[] body) {
    try {
      JsonNode e = JSON.readTree(body).path("error");
      if (e.isObject()) return new KilnException(status, e.path("code").asText("HTTP_" + status), e.path("message").asText(""));
    } catch (IOException ex) {
      // not our error body: a proxy or another server answered
    }
    return new KilnException(status, "HTTP_" + status,
        "the server at " + base + " answered HTTP " + status + " without a Kiln error body; is KILN_URL a Kiln daemon?");
  }
}
