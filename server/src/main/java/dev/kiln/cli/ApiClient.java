package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.sdk.Kiln;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/** A small blocking client of the Kiln REST API, configured from KILN_URL and KILN_API_KEY. */
public final class ApiClient {
  static final String DEFAULT_URL = "http://127.0.0.1:7788";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The daemon's URL when KILN_URL is unset; {@link CliTraining} points it at its stub. */
  static volatile String defaultUrl = DEFAULT_URL;
  private final URI base;
  private final String key;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .sslContext(DeferredTls.context()).sslParameters(DeferredTls.parameters()).build();

  /** @throws UserError when {@code baseUrl} is not an http(s) URL with a host */
  public ApiClient(String baseUrl, String key) {
    try {
      this.base = Kiln.baseUri(baseUrl);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage(), KilnCli.EXIT_USAGE);
    }
    this.key = key;
  }

  public static ApiClient fromEnvironment() {
    return new ApiClient(url(), System.getenv().getOrDefault("KILN_API_KEY", ""));
  }

  /** An SDK connection to the same daemon, for the streaming calls (processes over a WebSocket). */
  Kiln sdk() {
    return new Kiln(base.toString(), key);
  }

  private static String url() {
    String url = System.getenv("KILN_URL");
    return url == null || url.isBlank() ? defaultUrl : url;
  }

  /** A failed call: HTTP status plus the API's error code and message. */
  public static final class ApiError extends IOException {
    public final int status;
    public final String code;
    public final String detail;

    ApiError(int status, String code, String message) {
      super(message + " (" + code + ")");
      this.status = status;
      this.code = code;
      this.detail = message;
    }
  }

  public JsonNode get(String path) throws IOException, InterruptedException {
    return send(request(path).GET());
  }

  public JsonNode post(String path, Object body) throws IOException, InterruptedException {
    return send(json(request(path)).POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
  }

  public JsonNode put(String path, Object body) throws IOException, InterruptedException {
    return send(json(request(path)).PUT(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
  }

  public JsonNode delete(String path) throws IOException, InterruptedException {
    return send(request(path).DELETE());
  }

  public JsonNode putFile(String path, Path local) throws IOException, InterruptedException {
    return send(request(path).header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofFile(local)));
  }

  public InputStream download(String path) throws IOException, InterruptedException {
    HttpResponse<InputStream> r;
    try {
      r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw unreachable(e);
    }
    if (r.statusCode() >= 400) {
      try (InputStream in = r.body()) {
        throw error(r.statusCode(), in.readNBytes(1 << 20));
      }
    }
    return r.body();
  }

  public static String q(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private HttpRequest.Builder request(String path) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
    if (!key.isEmpty()) b.header("Authorization", "Bearer " + key);
    return b;
  }

  private static HttpRequest.Builder json(HttpRequest.Builder b) {
    return b.header("Content-Type", "application/json");
  }

  private JsonNode send(HttpRequest.Builder b) throws IOException, InterruptedException {
    HttpResponse<byte[]> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw unreachable(e);
    }
    if (r.statusCode() >= 400) throw error(r.statusCode(), r.body());
    if (r.body().length == 0) return JSON.nullNode();
    try {
      return JSON.readTree(r.body());
    } catch (IOException e) {
      throw new UserError("the server at " + base + " answered HTTP " + r.statusCode() + " with something that is not JSON; is KILN_URL a Kiln daemon?",
          KilnCli.EXIT_UNAVAILABLE);
    }
  }

  private UserError unreachable(IOException e) {
    return new UserError("cannot reach the Kiln daemon at " + base + ": " + Kiln.describeFailure(e), KilnCli.EXIT_UNAVAILABLE);
  }

  private ApiError error(int status, byte[] body) {
    try {
      JsonNode e = JSON.readTree(body).path("error");
      if (e.isObject()) return new ApiError(status, e.path("code").asText("HTTP_" + status), e.path("message").asText(""));
    } catch (IOException ex) {
      // not our error body: a proxy or another server answered
    }
    return new ApiError(status, "HTTP_" + status, "the server at " + base + " answered HTTP " + status + " without a Kiln error body; is KILN_URL a Kiln daemon?");
  }
}
