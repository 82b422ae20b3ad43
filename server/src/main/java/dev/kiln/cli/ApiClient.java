package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The daemon's URL when KILN_URL is unset; {@link CliTraining} points it at its stub. */
  static volatile String defaultUrl = "http://127.0.0.1:7788";
  private final URI base;
  private final String key;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
      .sslContext(DeferredTls.context()).sslParameters(DeferredTls.parameters()).build();

  public ApiClient(String baseUrl, String key) {
    this.base = URI.create(baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
    this.key = key;
  }

  public static ApiClient fromEnvironment() {
    String url = System.getenv().getOrDefault("KILN_URL", defaultUrl);
    return new ApiClient(url, System.getenv().getOrDefault("KILN_API_KEY", ""));
  }

  /** A failed call: HTTP status plus the API's error code and message. */
  public static final class ApiError extends IOException {
    public final int status;
    public final String code;

    ApiError(int status, String code, String message) {
      super(code + ": " + message + " (HTTP " + status + ")");
      this.status = status;
      this.code = code;
    }
  }

  public JsonNode get(String path) throws IOException, InterruptedException {
    return send(request(path).GET());
  }

  public JsonNode post(String path, Object body) throws IOException, InterruptedException {
    return send(request(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
  }

  public JsonNode delete(String path) throws IOException, InterruptedException {
    return send(request(path).DELETE());
  }

  public JsonNode putFile(String path, Path local) throws IOException, InterruptedException {
    return send(request(path).header("Content-Type", "application/octet-stream").PUT(HttpRequest.BodyPublishers.ofFile(local)));
  }

  public InputStream download(String path) throws IOException, InterruptedException {
    HttpResponse<InputStream> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
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
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path));
    if (!key.isEmpty()) b.header("Authorization", "Bearer " + key);
    return b;
  }

  private JsonNode send(HttpRequest.Builder b) throws IOException, InterruptedException {
    HttpResponse<byte[]> r;
    try {
      r = http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    } catch (java.net.ConnectException e) {
      throw new IOException("cannot reach the Kiln daemon at " + base + " (is `kiln daemon` running? set KILN_URL)", e);
    }
    if (r.statusCode() >= 400) throw error(r.statusCode(), r.body());
    return r.body().length == 0 ? JSON.nullNode() : JSON.readTree(r.body());
  }

  private static ApiError error(int status, byte[] body) {
    try {
      JsonNode e = JSON.readTree(body).path("error");
      return new ApiError(status, e.path("code").asText("HTTP_" + status), e.path("message").asText(""));
    } catch (IOException ex) {
      return new ApiError(status, "HTTP_" + status, new String(body, StandardCharsets.UTF_8));
    }
  }
}
