package dev.kiln.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.TerminalSize;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.GuestProcess;
import dev.kiln.sandbox.OutputFollower;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.Scrollback;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * /v1/sandboxes/{id}/processes: background processes whose output is kept in a bounded scrollback
 * and read as NDJSON from a cursor, live or replayed.
 */
final class ProcessRoutes {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** A following reader with nothing to say writes this often, so proxies and idle timeouts leave it open. */
  private static final Duration HEARTBEAT = Duration.ofSeconds(10);
  private static final Map<String, Integer> SIGNALS = Map.of("SIGHUP", 1, "SIGINT", 2, "SIGQUIT", 3, "SIGKILL", 9, "SIGUSR1", 10,
      "SIGUSR2", 12, "SIGTERM", 15, "SIGCONT", 18, "SIGSTOP", 19);

  private final ProcessService processes;
  private final CommandRequests commands;

  ProcessRoutes(ProcessService processes, CommandRequests commands) {
    this.processes = processes;
    this.commands = commands;
  }

  List<Route> routes() {
    String one = "/v1/sandboxes/{id}/processes/{pid}";
    return List.of(
        new Route("POST", "/v1/sandboxes/{id}/processes", this::start),
        new Route("GET", "/v1/sandboxes/{id}/processes",
            x -> x.json(200, Map.of("processes", processes.list(x.path("id")).stream().map(ProcessRoutes::view).toList()))),
        new Route("GET", "/v1/sandboxes/{id}/processes/ws", this::startOverWebSocket),
        new Route("GET", one, x -> x.json(200, view(processes.get(x.path("id"), pid(x))))),
        new Route("GET", one + "/output", this::output),
        new Route("GET", one + "/ws", x -> {
          GuestProcess p = processes.get(x.path("id"), pid(x));
          if (!x.upgradeToWebSocket(new ProcessSocket(processes, x.path("id"), p, parseLong(x.query("cursor"), "cursor", 0)))) {
            throw new KilnException(ErrorCode.INVALID_REQUEST, "this route is a WebSocket: send an Upgrade request (…/output serves the same as NDJSON)");
          }
        }),
        new Route("POST", one + "/stdin", this::stdin),
        new Route("POST", one + "/resize", x -> {
          processes.resize(x.path("id"), pid(x), x.body(Bodies.TerminalSize.class, null).toSize());
          x.noContent();
        }),
        new Route("POST", one + "/signal", x -> {
          Bodies.Signal b = x.body(Bodies.Signal.class, null);
          processes.signal(x.path("id"), pid(x), signal(b.signal()));
          x.noContent();
        }));
  }

  private void start(Exchange x) throws Exception {
    GuestProcess started = start(x, x.body(Bodies.StartProcess.class, null));
    x.json(201, view(started));
  }

  /**
   * Starts a process and follows it on one connection: the request of POST …/processes as the
   * {@code start} query parameter (a handshake has no body), then the socket of …/{pid}/ws from
   * cursor 0 after a started message. Saves the client a request and overlaps its handshake with
   * the start; a malformed request is refused before the upgrade, a start that fails after it.
   */
  private void startOverWebSocket(Exchange x) throws Exception {
    Bodies.StartProcess b = x.queryJson("start", Bodies.StartProcess.class);
    // What the request alone can show wrong is an HTTP answer; what the sandbox says comes over the socket.
    keepAlive(b);
    pty(b);
    ProcessSocket socket = ProcessSocket.starting(processes, x.path("id"), () -> {
      try {
        GuestProcess p = start(x, b);
        x.auditAfterHandOff(201);
        return p;
      } catch (KilnException e) {
        x.auditAfterHandOff(HttpStatusOf.of(e.code()));
        throw e;
      }
    });
    if (!x.upgradeToWebSocket(socket)) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "this route is a WebSocket: send an Upgrade request (POST …/processes starts one without)");
    }
  }

  private GuestProcess start(Exchange x, Bodies.StartProcess b) throws Exception {
    String id = x.path("id");
    // No command timeout unless asked for: background processes are often servers.
    Optional<TerminalSize> pty = pty(b);
    ExecRequest req = commands.from(id, b.argv(), b.command(), b.env(), b.cwd(), b.user(), b.timeoutSeconds(), Duration.ZERO,
        Boolean.TRUE.equals(b.stdin()) || pty.isPresent(), pty, Boolean.TRUE.equals(b.login()));
    Duration keepAlive = keepAlive(b);
    CommandRequests.audit(x, req);
    GuestProcess started = processes.start(id, req, keepAlive);
    x.audit("pid", started.pid());
    return started;
  }

  private static Optional<TerminalSize> pty(Bodies.StartProcess b) {
    return Optional.ofNullable(b.pty()).map(Bodies.TerminalSize::toSize);
  }

  private static Duration keepAlive(Bodies.StartProcess b) {
    long keepAlive = b.keepAliveSeconds() == null ? 0 : b.keepAliveSeconds();
    if (keepAlive < 0 || keepAlive > 7 * 24 * 3600) throw new KilnException(ErrorCode.INVALID_REQUEST, "keepAliveSeconds must be 0..604800");
    return Duration.ofSeconds(keepAlive);
  }

  /**
   * NDJSON from {@code cursor} (default 0): "overflow" if output before the oldest kept byte was
   * dropped, "output" lines, one "replayed" once the kept output is sent, then with
   * {@code follow=true} live output until "exit". A reader that goes away leaves the process running.
   */
  private void output(Exchange x) throws Exception {
    GuestProcess p = processes.get(x.path("id"), pid(x));
    long cursor = parseLong(x.query("cursor"), "cursor", 0);
    boolean follow = "true".equals(x.query("follow"));
    try (OutputStream out = x.rawOutput(200, "application/x-ndjson")) {
      p.follow(cursor, follow, HEARTBEAT, new OutputFollower() {
        public void overflow(long dropped, long resume) throws IOException {
          line(out, Map.of("type", "overflow", "droppedBytes", dropped, "cursor", resume));
        }

        public void output(Scrollback.Chunk c) throws IOException {
          line(out, Map.of("type", "output", "stream", c.stderr() ? "stderr" : "stdout", "cursor", c.offset() + c.data().length,
              "data", Base64.getEncoder().encodeToString(c.data())));
        }

        public void replayed(long at) throws IOException {
          line(out, Map.of("type", "replayed", "cursor", at));
        }

        public void idle(long at) throws IOException {
          line(out, Map.of("type", "heartbeat", "cursor", at));
        }

        public void ended(GuestProcess process) throws IOException {
          line(out, ProcessSocket.exitView(process));
        }
      });
    }
  }

  private static void line(OutputStream out, Map<String, Object> m) throws IOException {
    out.write(JSON.writeValueAsBytes(m));
    out.write('\n');
    out.flush();
  }

  /** The body, streamed into the process's stdin in chunks (never whole in memory); {@code close=true} closes it after. */
  private void stdin(Exchange x) throws Exception {
    String id = x.path("id");
    long pid = pid(x);
    boolean close = "true".equals(x.query("close"));
    processes.running(id, pid); // before reading the body: an unknown or finished process is an error even with no bytes to send
    byte[] buf = new byte[64 << 10];
    try (InputStream in = x.bodyStream()) {
      for (int n; (n = in.readNBytes(buf, 0, buf.length)) > 0; ) processes.writeStdin(id, pid, java.util.Arrays.copyOf(buf, n), false);
    }
    if (close) processes.writeStdin(id, pid, new byte[0], true);
    x.noContent();
  }

  private static long pid(Exchange x) {
    return parseLong(x.path("pid"), "pid", -1);
  }

  private static long parseLong(String s, String what, long absent) {
    if (s == null) {
      if (absent >= 0) return absent;
      throw new KilnException(ErrorCode.INVALID_REQUEST, what + " is required");
    }
    try {
      long v = Long.parseLong(s);
      if (v < 0) throw new NumberFormatException();
      return v;
    } catch (NumberFormatException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, what + " must be a non-negative integer, got '" + s + "'");
    }
  }

  private static int signal(Object s) {
    if (s instanceof Integer i) return i;
    if (s instanceof String name) {
      Integer n = SIGNALS.get(name.startsWith("SIG") ? name : "SIG" + name);
      if (n != null) return n;
    }
    throw new KilnException(ErrorCode.INVALID_REQUEST, "signal must be a number or one of " + new java.util.TreeSet<>(SIGNALS.keySet()) + ", got " + s);
  }

  static Map<String, Object> view(GuestProcess p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pid", p.pid());
    m.put("argv", p.argv());
    m.put("status", p.status().name().toLowerCase());
    if (p.pty()) m.put("pty", true);
    if (p.login()) m.put("login", true);
    if (p.adopted()) m.put("adopted", true);
    m.put("startedAt", p.startedAt().toString());
    p.endedAt().ifPresent(t -> m.put("endedAt", t.toString()));
    p.exit().ifPresent(e -> {
      m.put("exitCode", e.exitCode());
      if (e.signal() != 0) m.put("signal", e.signal());
      m.put("timedOut", e.timedOut());
    });
    m.put("outputBytes", p.outputBytes());
    if (!p.keepAlive().isZero()) m.put("keepAliveSeconds", p.keepAlive().toSeconds());
    if (p.killedUnattended()) m.put("killedUnattended", true);
    return m;
  }
}
