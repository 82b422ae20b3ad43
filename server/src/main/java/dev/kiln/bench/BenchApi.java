package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.function.UnaryOperator;

/** One daemon's API as the bench calls it: the same requests, each with its caller's header; an error answer fails the bench. */
final class BenchApi {
  private final HttpClient http;
  private final ObjectMapper json;
  private final String base;
  private final UnaryOperator<HttpRequest.Builder> auth;

  BenchApi(HttpClient http, ObjectMapper json, String base, UnaryOperator<HttpRequest.Builder> auth) {
    this.http = http;
    this.json = json;
    this.base = base;
    this.auth = auth;
  }

  String create(String body) throws Exception {
    return postJson("/v1/sandboxes", body).path("id").asText();
  }

  void exec(String id) throws Exception {
    postJson("/v1/sandboxes/" + id + "/exec", "{\"argv\":[\"true\"]}");
  }

  /** A shell command's standard output. */
  String sh(String id, String command) throws Exception {
    return postJson("/v1/sandboxes/" + id + "/exec", json.writeValueAsString(Map.of("command", command))).path("stdout").asText();
  }

  void post(String id, String action) throws Exception {
    send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/" + action)).POST(HttpRequest.BodyPublishers.noBody()));
  }

  JsonNode postJson(String path, String body) throws Exception {
    return json.readTree(send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body))));
  }

  JsonNode get(String path) throws Exception {
    return json.readTree(send(HttpRequest.newBuilder(URI.create(base + path))));
  }

  void upload(String id, String guestPath, java.nio.file.Path file) throws Exception {
    send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/files?path=" + guestPath)).PUT(HttpRequest.BodyPublishers.ofFile(file)));
  }

  /** A guest file read to its end and dropped. */
  void download(String id, String guestPath) throws Exception {
    readToEnd(http, auth.apply(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/files?path=" + guestPath))).build(),
        base + " reading " + guestPath);
  }

  /** Sends {@code request} and reads the answer to its end, keeping none of it, as a timed client does; anything but 200 fails. */
  static void readToEnd(HttpClient http, HttpRequest request, String what) throws Exception {
    HttpResponse<java.io.InputStream> r = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
    try (java.io.InputStream in = r.body()) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    if (r.statusCode() != 200) throw new IllegalStateException(what + ": HTTP " + r.statusCode());
  }

  void delete(String id) throws Exception {
    send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id)).DELETE());
  }

  private String send(HttpRequest.Builder b) throws Exception {
    HttpResponse<String> r = http.send(auth.apply(b).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) throw new IllegalStateException(base + ": HTTP " + r.statusCode() + ": " + r.body());
    return r.body();
  }
}
