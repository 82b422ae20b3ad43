package dev.kiln.sdk;

import java.io.FileNotFoundException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The REST API one request at a time, for what the typed classes do not cover (templates, pools,
 * checkpoints, forwards, events…) or for a program that wants the API's JSON as it is (the
 * {@code kiln} CLI prints it). Paths are the API's, from {@code /v1/…} (openapi.yaml), with their
 * query already encoded; bodies are JSON text; the API key, error decoding and connection handling
 * are those of {@link Kiln}, so a failure is a {@link KilnException} with the API's code.
 *
 * <pre>{@code
 * String pools = kiln.api().get("/v1/pools");                                   // {"pools":[…]}
 * kiln.api().put("/v1/pools/base", "{\"minReady\":1,\"maxReady\":2}");
 * }</pre>
 */
public final class KilnApi {
  private final Kiln kiln;

  KilnApi(Kiln kiln) {
    this.kiln = kiln;
  }

  /** GET {@code path}; the answer's JSON text ("" when it has no body). */
  public String get(String path) {
    return text(kiln.send(kiln.request(path).GET()));
  }

  /** POST {@code json} to {@code path}; the answer's JSON text ("" when it has no body). */
  public String post(String path, String json) {
    return text(kiln.send(kiln.jsonRequest(path).POST(HttpRequest.BodyPublishers.ofString(json))));
  }

  /** PUT {@code json} to {@code path}; the answer's JSON text ("" when it has no body). */
  public String put(String path, String json) {
    return text(kiln.send(kiln.jsonRequest(path).PUT(HttpRequest.BodyPublishers.ofString(json))));
  }

  /** PATCH {@code path} with {@code json}; the answer's JSON text ("" when it has no body). */
  public String patch(String path, String json) {
    return text(kiln.send(kiln.jsonRequest(path).method("PATCH", HttpRequest.BodyPublishers.ofString(json))));
  }

  /** DELETE {@code path}; the answer's JSON text ("" when it has no body). */
  public String delete(String path) {
    return text(kiln.send(kiln.request(path).DELETE()));
  }

  /**
   * PUT a local file's bytes to {@code path} (the files route, whose query names the file in the
   * sandbox), streamed from disk; the answer's JSON text.
   *
   * @throws java.io.UncheckedIOException when the local file cannot be opened
   */
  public String upload(String path, Path file) {
    HttpRequest.BodyPublisher body;
    try {
      body = HttpRequest.BodyPublishers.ofFile(file);
    } catch (FileNotFoundException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return text(kiln.send(kiln.request(path).header("Content-Type", "application/octet-stream").PUT(body)));
  }

  /**
   * POST a body streamed from {@code body} (opened once, when the request is sent; a Dockerfile
   * build's context as a tar, say) with its content type; the answer's JSON text.
   */
  public String postStream(String path, String contentType, java.util.function.Supplier<InputStream> body) {
    return text(kiln.send(kiln.request(path).header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofInputStream(body))));
  }

  /** GET {@code path} as a stream of bytes (a file, a build log, a console); close it. */
  public InputStream open(String path) {
    return kiln.stream(path);
  }

  /** Checked to be JSON, so a caller that parses it never meets another server's page. */
  private String text(byte[] body) {
    kiln.json(body);
    return new String(body, StandardCharsets.UTF_8);
  }
}
