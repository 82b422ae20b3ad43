package dev.kiln.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.kiln.access.Caller;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.json.JsonInputException;
import dev.kiln.json.StrictJson;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.eclipse.jetty.util.Fields;

/** One HTTP request and its response, with the blocking helpers the route handlers need. */
public final class Exchange {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Exchange.class);
  /** JSON bodies are small requests; 1 MiB is generous and keeps a hostile body off the heap. */
  static final int MAX_JSON_BODY = 1 << 20;
  /** How much of a refused body is read to let its client see the answer; a client sending more has its connection cut. */
  private static final long DRAIN_LIMIT = 256L << 20;
  /** Strict for what clients send ({@link StrictJson}); ISO-8601 times in what we answer. */
  static final ObjectMapper JSON = StrictJson.builder()
      .addModule(new com.fasterxml.jackson.datatype.jdk8.Jdk8Module())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      .build();

  final Request request;
  final Response response;
  private final Callback callback;
  private final ServerWebSocketContainer websockets;
  private final Map<String, String> pathParams;
  private Fields query;
  private boolean handedOff;
  private Caller caller;
  private final Map<String, Object> auditDetail = new java.util.LinkedHashMap<>();
  private String auditSandbox = "";
  private boolean auditedElsewhere;
  private int auditStatus;
  private Runnable beforeAnswer = () -> { };
  private boolean answering;

  public Exchange(Request request, Response response, Callback callback, ServerWebSocketContainer websockets, Map<String, String> pathParams) {
    this.request = request;
    this.response = response;
    this.callback = callback;
    this.websockets = websockets;
    this.pathParams = pathParams;
  }

  /**
   * Hands the connection to a WebSocket endpoint (a Jetty Session.Listener); false if the request
   * is not a WebSocket upgrade. After a hand-off the connection is the endpoint's, not the router's.
   */
  boolean upgradeToWebSocket(Object endpoint) throws Exception {
    if (websockets == null) return false;
    handedOff = websockets.upgrade((req, resp, cb) -> {
      if (req.hasSubProtocol(Callers.PROTOCOL)) resp.setAcceptedSubProtocol(Callers.PROTOCOL);
      return endpoint;
    }, request, response, callback);
    return handedOff;
  }

  /** The same request and answer, with the path parameters a router matched. */
  public Exchange withPathParams(Map<String, String> params) {
    Exchange x = new Exchange(request, response, callback, websockets, params);
    x.beforeAnswer = beforeAnswer;
    return x;
  }

  public String method() {
    return request.getMethod();
  }

  /** The request's path (without the query). */
  public String requestPath() {
    return Request.getPathInContext(request);
  }

  /** A request header's value, or null. */
  public String header(String name) {
    return request.getHeaders().get(name);
  }

  public java.util.List<String> headerNames() {
    return java.util.List.copyOf(request.getHeaders().getFieldNamesCollection());
  }

  /** Sets a header of the answer; before the answer starts. */
  public void setHeader(String name, String value) {
    response.getHeaders().put(name, value);
  }

  /** The answer's status (200 until one is set). */
  public int status() {
    return response.getStatus();
  }

  /** The answer has begun: it can no longer become an error answer. */
  public boolean committed() {
    return response.isCommitted();
  }

  /**
   * Clears what was set of the answer, for an error answer instead. An error can come before the
   * body was read; then Jetty drops the connection after the answer, and saying so keeps the
   * client from reusing it.
   */
  public void resetForError() {
    response.reset();
    if (!request.consumeAvailable()) response.getHeaders().put(HttpHeader.CONNECTION, "close");
  }

  /** How an API writes an error answer in its own shape (Kiln's, E2B's planes). */
  public interface ErrorShape {
    void send(Exchange x, int status, ErrorCode code, String message) throws IOException;
  }

  /**
   * Answers a failure in {@code shape}, its message fit for users, and completes the exchange. An
   * answer already begun (a download that failed midway) cannot become an error: the connection is
   * cut, which the client sees as a truncated body rather than a silently short one.
   */
  public void fail(Failure f, ErrorShape shape) {
    audit("error", f.code().name());
    if (response.isCommitted()) {
      log.warn("error after the answer began: {} {}", f.code(), f.message());
      answering();
      callback.failed(new IOException(f.message()));
      return;
    }
    // Refused before its body was read (a bad path, a quota, a sandbox gone): a body of a declared
    // length is drained so that the answer is not lost to a reset. A client waiting for
    // 100-continue sends nothing more; a stream of no declared length (a migration's) is cut.
    boolean waitsForContinue = request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString());
    if (!waitsForContinue && request.getLength() > 0 && request.getLength() <= DRAIN_LIMIT) drain(bodyStream());
    try {
      resetForError();
      shape.send(this, f.status(), f.code(), UserMessages.of(f.code().name(), f.message()));
      callback.succeeded();
    } catch (IOException | RuntimeException e) {
      callback.failed(e);
    }
  }

  /** The answer is complete (for a handler that answers outside the API's router). */
  public void succeeded() {
    callback.succeeded();
  }

  /** The answer could not be given: the connection is cut. */
  public void failed(Throwable cause) {
    callback.failed(cause);
  }

  public boolean handedOff() {
    return handedOff;
  }

  /** Who makes the request, once authenticated (every route but /healthz is). */
  public Caller caller() {
    if (caller == null) throw new IllegalStateException("the request was not authenticated");
    return caller;
  }

  public void authenticated(Caller c) {
    caller = c;
  }

  /** Runs once, when the answer's status is set and before any of it is sent (the audit record is made then). */
  public void beforeAnswer(Runnable r) {
    beforeAnswer = r;
  }

  /** The answer is about to go (or has gone, if the route wrote nothing): what must precede it runs now, once. */
  public void answering() {
    if (answering) return;
    answering = true;
    // A body left unread (an upload's epilogue, a body a route has no use for) makes Jetty drop the
    // connection after the answer without a word; said, the client sends its next request elsewhere.
    if (!response.isCommitted() && !request.consumeAvailable()) response.getHeaders().put(HttpHeader.CONNECTION, "close");
    beforeAnswer.run();
  }

  /** Adds a particular of what this request did to its audit record (an exec's argv and exit code, a file's sha256). */
  public void audit(String key, Object value) {
    auditDetail.put(key, value);
  }

  /** The sandbox this request is about when its path names none (a create). */
  public void auditSandbox(String id) {
    auditSandbox = id;
  }

  /**
   * Records this request in the audit trail with {@code status} once the WebSocket it was handed
   * off to has done what it asked (a process started over its handshake): a GET that changes
   * something is recorded like any other change.
   */
  public void auditAfterHandOff(int status) {
    auditStatus = status;
    beforeAnswer.run();
  }

  /** What a request handed off to a WebSocket did, as a status, if it said ({@link #auditAfterHandOff}). */
  java.util.OptionalInt handOffOutcome() {
    return auditStatus == 0 ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(auditStatus);
  }

  /** This request is carried out, and recorded, elsewhere: a control instance passes it to a node. */
  public void auditedElsewhere() {
    auditedElsewhere = true;
  }

  Map<String, Object> auditDetail() {
    return auditDetail;
  }

  String auditSandbox() {
    String id = pathParams.get("id");
    return id != null && Request.getPathInContext(request).startsWith("/v1/sandboxes/") ? id : auditSandbox;
  }

  boolean isAuditedElsewhere() {
    return auditedElsewhere;
  }

  /** Who made the request, if it was authenticated. */
  java.util.Optional<Caller> callerIfAny() {
    return java.util.Optional.ofNullable(caller);
  }

  public String path(String name) {
    return pathParams.get(name);
  }

  /** A query parameter, or null. */
  public String query(String name) {
    Fields.Field f = queryFields().get(name);
    return f == null ? null : f.getValue();
  }

  /** Every value of a query parameter given more than once (build-arg=A=1&build-arg=B=2), in order. */
  public java.util.List<String> queryAll(String name) {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (Fields.Field f : queryFields()) if (f.getName().equals(name)) out.addAll(f.getValues());
    return out;
  }

  /** The query parameters named {@code prefix + key}, by key (for filters such as metadata.team=ml). */
  Map<String, String> queryWithPrefix(String prefix) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (Fields.Field f : queryFields()) {
      if (f.getName().startsWith(prefix) && f.getName().length() > prefix.length()) out.put(f.getName().substring(prefix.length()), f.getValue());
    }
    return out;
  }

  private Fields queryFields() {
    if (query == null) {
      try {
        query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
      } catch (RuntimeException e) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "malformed query string: " + e.getMessage());
      }
    }
    return query;
  }

  public String requiredQuery(String name) {
    String v = query(name);
    if (v == null || v.isEmpty()) throw new KilnException(ErrorCode.INVALID_REQUEST, "query parameter '" + name + "' is required");
    return v;
  }

  /** Reads and binds a JSON body of at most {@link #MAX_JSON_BODY} bytes; an empty body binds to {@code empty}. */
  public <T> T body(Class<T> type, T empty) throws IOException {
    byte[] raw = jsonBytes();
    if (raw.length == 0 || new String(raw, StandardCharsets.UTF_8).isBlank()) {
      if (empty != null) return empty;
      throw new KilnException(ErrorCode.INVALID_JSON, "the request needs a JSON object as its body, got an empty body");
    }
    return bind(raw, type, "the body");
  }

  /**
   * Binds a query parameter that carries a JSON object, as a WebSocket handshake (which has no
   * body) carries its request.
   */
  public <T> T queryJson(String name, Class<T> type) {
    return bind(requiredQuery(name).getBytes(StandardCharsets.UTF_8), type, "query parameter '" + name + "'");
  }

  private static <T> T bind(byte[] raw, Class<T> type, String what) {
    try {
      return StrictJson.read(JSON, raw, type);
    } catch (JsonInputException e) {
      // An unknown field or a refused value is a request the API does not take; the rest is JSON that is not this request's.
      ErrorCode code = switch (e.kind()) {
        case UNKNOWN_FIELD, BAD_VALUE, REFUSED -> ErrorCode.INVALID_REQUEST;
        case MALFORMED, WRONG_TYPE, TOO_LARGE -> ErrorCode.INVALID_JSON;
      };
      throw new KilnException(code, e.describe(what, "field", ""));
    }
  }

  /** A JSON body's bytes, unparsed: at most {@link #MAX_JSON_BODY} of them, or 413. */
  public byte[] jsonBytes() throws IOException {
    return boundedBody(bodyStream(), MAX_JSON_BODY, "the JSON body is larger than " + MAX_JSON_BODY + " bytes (1 MiB), the most a request body may be");
  }

  /** All of {@code body} when it holds at most {@code limit} bytes; otherwise {@link #tooLarge}. */
  static byte[] boundedBody(InputStream body, int limit, String refusal) throws IOException {
    try (InputStream in = body) {
      byte[] raw = in.readNBytes(limit + 1);
      if (raw.length > limit) throw tooLarge(in, refusal);
      return raw;
    }
  }

  /** A 413 for a body over its limit, once what the client is still sending is {@linkplain #drain drained}. */
  static KilnException tooLarge(InputStream rest, String refusal) {
    drain(rest);
    return new KilnException(ErrorCode.PAYLOAD_TOO_LARGE, refusal);
  }

  /**
   * Reads and drops what is left of a body refused before its end (up to 256 MiB): a connection
   * closed on unread bytes is reset, and the reset can reach the client before the answer does.
   */
  private static void drain(InputStream rest) {
    try {
      byte[] buf = new byte[1 << 16];
      long left = DRAIN_LIMIT;
      int n;
      while (left > 0 && (n = rest.read(buf, 0, (int) Math.min(buf.length, left))) > 0) left -= n;
    } catch (IOException e) {
      // the client went away: it will not read the answer either
    }
  }

  /**
   * The request's body. Closing it leaves the rest unread rather than failing the request's
   * content (as Jetty's stream does): a route that gives up on a body (an upload to a sandbox that
   * is not there) still has its error answered after the rest is drained ({@link #fail}).
   */
  public InputStream bodyStream() {
    return new FilterInputStream(Content.Source.asInputStream(request)) {
      @Override
      public void close() {}
    };
  }

  public void json(int status, Object value) throws IOException {
    bytes(status, "application/json", JSON.writeValueAsBytes(value));
  }

  public void bytes(int status, String contentType, byte[] bytes) throws IOException {
    response.setStatus(status);
    answering();
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    try (OutputStream out = Content.Sink.asOutputStream(response)) {
      out.write(bytes);
    }
  }

  public void noContent() {
    response.setStatus(204);
    answering();
  }

  /**
   * Streams {@code in} as a 200 answer. Its first chunk is read before the status is sent, so an
   * error right at the start is still a proper error answer; a failure later can only cut the
   * connection, which the client sees as a truncated body.
   */
  public void stream(InputStream in, String contentType) throws IOException {
    byte[] buf = new byte[64 * 1024];
    int n = in.read(buf);
    try (OutputStream out = rawOutput(200, contentType)) {
      while (n >= 0) {
        out.write(buf, 0, n);
        n = in.read(buf);
      }
    }
  }

  /** The response body as a stream, status and headers set by the caller. */
  OutputStream rawOutput() {
    answering();
    return Content.Sink.asOutputStream(response);
  }

  public OutputStream rawOutput(int status, String contentType) {
    response.setStatus(status);
    answering();
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
    return Content.Sink.asOutputStream(response);
  }
}
