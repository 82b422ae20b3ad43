package dev.kiln.e2b;

import dev.kiln.api.CommandRequests;
import dev.kiln.api.E2bRequests;
import dev.kiln.api.Exchange;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.Sandbox;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxOperations;
import dev.kiln.sandbox.UserResolver;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * The in-sandbox API E2B's SDK calls "envd", served by the daemon rather than by a program in the
 * guest: /health, /files, and the Connect services {@code process.Process} and
 * {@code filesystem.Filesystem} in JSON. Every call but /health carries the sandbox's access token
 * (or, on /files, a URL signed with it).
 */
final class Envd implements E2bApi.EnvdService {
  static final String PROCESS = E2bRequests.PROCESS;
  static final String FILESYSTEM = E2bRequests.FILESYSTEM;
  private final SandboxManager sandboxes;
  private final EnvdTokens tokens;
  private final ProcessRpc process;
  private final FilesystemRpc filesystem;
  private final EnvdFiles files;

  Envd(SandboxManager sandboxes, SandboxOperations ops, ProcessService processes, EnvdTokens tokens) {
    this.sandboxes = sandboxes;
    this.tokens = tokens;
    UserResolver users = new UserResolver(ops);
    this.process = new ProcessRpc(processes, new CommandRequests(sandboxes, users));
    this.filesystem = new FilesystemRpc(sandboxes, ops, users);
    this.files = new EnvdFiles(sandboxes, ops, users);
  }

  @Override
  public void handle(Exchange x, String sandboxId) throws Exception {
    String path = x.requestPath();
    String method = x.method();
    x.auditSandbox(sandboxId);
    Optional<Sandbox> sandbox = find(sandboxId);
    if (sandbox.isEmpty()) {
      notRunning(x, sandboxId);
      return;
    }
    if (path.equals("/health")) {
      if (!method.equals("GET")) throw new KilnException(ErrorCode.METHOD_NOT_ALLOWED, method + " is not allowed on /health");
      x.noContent();
      return;
    }
    EnvdCall call = new EnvdCall(x, sandboxId, EnvdCall.userOf(x));
    boolean signedFileUrl = path.equals("/files") && files.signed(x, sandboxId, tokens, call.user().orElse(null), Instant.now());
    if (!signedFileUrl && !tokens.matches(sandboxId, x.header("X-Access-Token"))) {
      throw new KilnException(ErrorCode.UNAUTHORIZED, "this sandbox's access token is required (X-Access-Token, as the sandbox's create or connect answer gave it), or on /files a URL signed with it");
    }
    if (path.equals("/files")) {
      files.handle(call);
      return;
    }
    if (!method.equals("POST")) throw new KilnException(ErrorCode.METHOD_NOT_ALLOWED, "Connect calls are POST requests, got " + method);
    boolean isProcess = path.startsWith(PROCESS);
    String rpc = path.substring(isProcess ? PROCESS.length() : FILESYSTEM.length());
    ProtoJson req = request(x, isStreamingCall(path), path);
    if (isProcess) process.call(rpc, call, req);
    else filesystem.call(rpc, call, req);
  }

  /** What E2B's edge answers for a sandbox that is not running: the SDK reads it as "not running" (isRunning false, a timeout). */
  static void notRunning(Exchange x, String sandboxId) throws IOException {
    x.json(502, Map.of("code", 502, "message", "sandbox " + sandboxId + " is not running here (it does not exist, or was deleted)", "sandboxId", sandboxId));
  }

  private Optional<Sandbox> find(String id) {
    try {
      return Optional.of(sandboxes.get(id));
    } catch (KilnException e) {
      if (e.code() == ErrorCode.SANDBOX_NOT_FOUND || e.code() == ErrorCode.SANDBOX_DELETED || e.code() == ErrorCode.SANDBOX_EXPIRED) return Optional.empty();
      throw e;
    }
  }

  /** Whether the call is one of the streaming RPCs, whose errors travel in the stream's last envelope. */
  static boolean isStreamingCall(String path) {
    if (path.startsWith(PROCESS)) return ProcessRpc.streaming(path.substring(PROCESS.length()));
    if (path.startsWith(FILESYSTEM)) return FilesystemRpc.streaming(path.substring(FILESYSTEM.length()));
    return false;
  }

  /** The request message: the JSON body of a unary call, the one envelope of a streaming call's body. */
  private static ProtoJson request(Exchange x, boolean streaming, String path) throws IOException {
    String type = String.valueOf(x.header("Content-Type")).toLowerCase(java.util.Locale.ROOT);
    String want = streaming ? ConnectStream.CONTENT_TYPE : "application/json";
    if (!type.equals(want) && !type.startsWith(want + ";")) {
      throw ProtoJson.invalid(path + " takes Content-Type " + want + " (the Connect protocol in JSON), got " + type);
    }
    byte[] body = x.jsonBytes();
    if (!streaming) return ProtoJson.parse(body, "the request");
    if (body.length < 5) throw ProtoJson.invalid("a streaming call's body is one envelope (a flag byte, a 4-byte length, the message), got " + body.length + " bytes");
    int flags = body[0] & 0xFF;
    long length = ((body[1] & 0xFFL) << 24) | ((body[2] & 0xFF) << 16) | ((body[3] & 0xFF) << 8) | (body[4] & 0xFF);
    if ((flags & 1) != 0) throw ProtoJson.invalid("compressed envelopes are not accepted");
    if (flags != 0) throw ProtoJson.invalid("the request envelope's flags must be 0, got " + flags);
    if (length != body.length - 5) throw ProtoJson.invalid("the request envelope says " + length + " bytes but holds " + (body.length - 5));
    return ProtoJson.parse(java.util.Arrays.copyOfRange(body, 5, body.length), "the request");
  }

  static void unary(Exchange x, Object response) throws IOException {
    x.bytes(200, "application/json", ProtoJson.write(response));
  }

  /** The call's deadline ({@code Connect-Timeout-Ms}), which envd makes a started process's lifetime. */
  static Optional<Duration> deadline(Exchange x) {
    String v = x.header("Connect-Timeout-Ms");
    if (v == null) return Optional.empty();
    if (!v.matches("\\d{1,10}")) throw ProtoJson.invalid("Connect-Timeout-Ms must be a number of milliseconds, got '" + v + "'");
    Duration d = Duration.ofMillis(Long.parseLong(v));
    return Optional.of(d.compareTo(CommandRequests.MAX_TIMEOUT) > 0 ? CommandRequests.MAX_TIMEOUT : d);
  }

  /** How often a quiet stream sends a keepalive ({@code Keepalive-Ping-Interval}, seconds). */
  static Optional<Duration> keepaliveInterval(Exchange x) {
    String v = x.header("Keepalive-Ping-Interval");
    if (v == null || !v.matches("\\d{1,4}") || Integer.parseInt(v) == 0) return Optional.empty();
    return Optional.of(Duration.ofSeconds(Integer.parseInt(v)));
  }

  /**
   * An error as the SDK reads it: a Connect error on RPCs (in the end-stream envelope of a
   * streaming call, with HTTP 200), {@code {"code":<status>,"message"}} on /files and /health.
   */
  static void error(Exchange x, String path, ConnectCode connect, int httpStatus, String message) throws IOException {
    if (path.startsWith(PROCESS) || path.startsWith(FILESYSTEM)) {
      if (isStreamingCall(path)) {
        try (ConnectStream s = ConnectStream.open(x)) {
          s.fail(connect, message);
        }
        return;
      }
      x.bytes(connect.httpStatus, "application/json", ProtoJson.write(Map.of("code", connect.wire, "message", message)));
      return;
    }
    x.json(httpStatus, Map.of("code", httpStatus, "message", message));
  }
}
