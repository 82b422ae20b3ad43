package dev.kiln.api;

import dev.kiln.access.Caller;
import dev.kiln.cluster.NodeCredential;
import dev.kiln.cluster.NodeRoute;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executors;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.server.Request;

/**
 * A control instance's hop to a node for one HTTP request: the request is sent on with the node's
 * credential in place of the user's key, and the node's answer comes back as it is made. Bodies
 * stream both ways and are never held whole, so a 100 MiB upload or a followed log costs a buffer.
 */
final class HttpHop implements AutoCloseable, NodeHop {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HttpHop.class);
  /** An internal call that moves a sandbox's state (a take-over, a fork from the bucket) may fetch a few GiB; longer is a hung node. */
  private static final Duration CALL_TIMEOUT = Duration.ofMinutes(10);
  /**
   * Hop-by-hop headers, what the JDK client sets itself, and the caller's credentials (a browser's
   * WebSocket offers its key as a subprotocol), which stop here; so does what a browser says of the
   * page it came from, which this instance checked (CrossSiteGuard) and which names no origin of the node's.
   */
  private static final Set<String> NOT_SENT = Set.of("connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
      "host", "content-length", "expect", "authorization", "x-api-key", NodeCredential.HEADER.toLowerCase(Locale.ROOT), Caller.HEADER.toLowerCase(Locale.ROOT),
      "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-accept", "sec-websocket-protocol",
      "origin", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user");
  private static final Set<String> NOT_RETURNED = Set.of("connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length", "date", "server");
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT)
      .followRedirects(HttpClient.Redirect.NEVER).executor(Executors.newVirtualThreadPerTaskExecutor()).build();

  HttpClient client() {
    return client;
  }

  /** Sends the exchange's request to the node and streams its answer back; {@code body} replaces the request body when given (already read). */
  @Override
  public void forward(Exchange x, NodeRoute node, Optional<byte[]> body) throws IOException, InterruptedException {
    relay(x, send(x, node, body));
  }

  /**
   * {@link #forward} with the body read already, except that a 421 (the node no longer runs the
   * sandbox: it moved, by a live migration, since the row was read) is not passed on: false, and
   * nothing was sent to the client, so the caller can send the same request where the row says now.
   * A node answers 421 before it does anything, so the request is not carried out twice.
   */
  boolean forwardUnlessMoved(Exchange x, NodeRoute node, byte[] body) throws IOException, InterruptedException {
    HttpResponse<InputStream> answer = send(x, node, Optional.of(body));
    if (answer.statusCode() == 421) {
      answer.body().close();
      return false;
    }
    relay(x, answer);
    return true;
  }

  private HttpResponse<InputStream> send(Exchange x, NodeRoute node, Optional<byte[]> body) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(target(node.api(), x.request));
    copyRequestHeaders(x, node, b::header);
    long length = x.request.getLength();
    HttpRequest.BodyPublisher publisher = body.map(HttpRequest.BodyPublishers::ofByteArray)
        .orElseGet(() -> length == 0 ? HttpRequest.BodyPublishers.noBody()
            : length > 0 ? HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(x::bodyStream), length)
            : HttpRequest.BodyPublishers.ofInputStream(x::bodyStream));
    b.method(x.request.getMethod(), publisher);
    HttpResponse<InputStream> answer;
    try {
      answer = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (ConnectException | HttpConnectTimeoutException e) {
      throw unreachable(node, e);
    } catch (IOException e) {
      // The node went away mid-request: the request may or may not have been carried out there.
      log.warn("hop to node={} at {} failed mid-request: {}", node.nodeId(), node.api(), e.toString());
      throw new KilnException(ErrorCode.NODE_UNREACHABLE, "node " + node.nodeName() + " (" + node.nodeId() + ") stopped answering during the request; "
          + "it may or may not have been carried out", e);
    }
    return answer;
  }

  /**
   * A call of the control plane's own to a node (an internal route), its answer whole: such answers
   * are small JSON. A node that does not answer is 502 NODE_UNREACHABLE.
   */
  HttpResponse<byte[]> call(NodeRoute node, String path, byte[] body) throws InterruptedException {
    return call(node, path, body, Callers.ControlPlane.ITSELF);
  }

  /** {@link #call(NodeRoute, String, byte[])} on behalf of a caller: what it makes there is the caller's. */
  HttpResponse<byte[]> call(NodeRoute node, String path, byte[] body, Caller caller) throws InterruptedException {
    HttpRequest req = HttpRequest.newBuilder(URI.create(node.api().getScheme() + "://" + node.api().getRawAuthority() + path)).timeout(CALL_TIMEOUT)
        .header(NodeCredential.HEADER, node.credential().value()).header(Caller.HEADER, caller.header()).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
    try {
      return client.send(req, HttpResponse.BodyHandlers.ofByteArray());
    } catch (IOException e) {
      throw unreachable(node, e);
    }
  }

  /** A node's whole answer, passed to the client as it is (its error body is already the API's). */
  static void relayWhole(Exchange x, HttpResponse<byte[]> answer) throws IOException {
    x.bytes(answer.statusCode(), answer.headers().firstValue("content-type").orElse("application/json"), answer.body());
  }

  /** A node that does not answer, in words for the client; where it is and the JDK's words go to the log only. */
  static KilnException unreachable(NodeRoute node, Exception e) {
    log.warn("node={} at {} does not answer: {}", node.nodeId(), node.api(), e.toString());
    return new KilnException(ErrorCode.NODE_UNREACHABLE, "node " + node.nodeName() + " (" + node.nodeId() + ") does not answer the control plane", e);
  }

  @Override
  public void close() {
    client.close();
  }

  /** The node's URI for the request: its API's scheme and authority, the request's path and query as the client sent them. */
  static URI target(URI base, Request request) {
    String path = request.getHttpURI().getPath();
    String query = request.getHttpURI().getQuery();
    return URI.create(base.getScheme() + "://" + base.getRawAuthority() + path + (query == null ? "" : "?" + query));
  }

  interface HeaderSink {
    void header(String name, String value);
  }

  /** The request's headers for the node: the client's credentials replaced by the node's, and the caller they stood for. */
  private static void copyRequestHeaders(Exchange x, NodeRoute node, HeaderSink out) {
    for (HttpField f : x.request.getHeaders()) {
      // Basic credentials are no key of Kiln's: E2B's SDK names the guest user of an envd call with them.
      boolean basic = f.getLowerCaseName().equals("authorization") && f.getValue().regionMatches(true, 0, "Basic ", 0, 6);
      if (basic || !NOT_SENT.contains(f.getLowerCaseName())) out.header(f.getName(), f.getValue());
    }
    out.header(NodeCredential.HEADER, node.credential().value());
    out.header(Caller.HEADER, x.caller().header());
    out.header("X-Forwarded-For", Request.getRemoteAddr(x.request));
  }

  private static void relay(Exchange x, HttpResponse<InputStream> answer) throws IOException {
    x.response.setStatus(answer.statusCode());
    HttpHeaders h = answer.headers();
    for (Map.Entry<String, List<String>> e : h.map().entrySet()) {
      if (NOT_RETURNED.contains(e.getKey().toLowerCase(Locale.ROOT))) continue;
      for (String v : e.getValue()) x.response.getHeaders().add(e.getKey(), v);
    }
    h.firstValueAsLong("content-length").ifPresent(n -> x.response.getHeaders().put("Content-Length", Long.toString(n)));
    try (InputStream in = answer.body(); OutputStream out = x.rawOutput()) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) >= 0; ) {
        // Written as it arrives: a followed log or a process's output must not wait for a full buffer.
        if (n > 0) out.write(buf, 0, n);
      }
    }
  }
}
