package dev.kiln.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.agent.TerminalSize;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.GuestProcess;
import dev.kiln.sandbox.OutputFollower;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.Scrollback;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WebSocket client of a background process. Every message is binary, its first byte says
 * what it is. To the client: 1 stdout and 2 stderr (the bytes follow), 5 overflow (8-byte count of
 * bytes dropped before the oldest kept one, then the 8-byte cursor the output resumes at), 4
 * end-of-replay (8-byte cursor: the kept output up to it was sent; live output follows), 3 exit
 * (JSON, as in the NDJSON "exit" line); then the server closes. A close with status 1012 (service
 * restart) instead says the sandbox moved to another node (a live migration): the process runs on
 * there, and the client re-attaches at the same URL with its cursor. From the client: 0 stdin bytes,
 * 6 close stdin, 7 resize a pty process's terminal (u16 rows, u16 cols). A client's cursor is the end-of-replay cursor plus the output bytes it got since;
 * it re-attaches with {@code ?cursor=}. Leaving does not stop the process.
 *
 * <p>A socket that starts its process ({@code /processes/ws?start=}) sends 8 started (JSON: the
 * process as GET …/processes/{pid} shows it) before the rest, from cursor 0; or, if the start fails,
 * 9 error (JSON: the API's {@code {"error":{"code","message"}}} with the HTTP {@code status} it
 * stands for) and closes. The start runs once the handshake is answered, so the client finishes its
 * side of the handshake while the guest starts the process. Public only because Jetty binds the
 * listener methods through method handles.
 */
public final class ProcessSocket implements Session.Listener.AutoDemanding {
  static final byte STDIN = 0;
  static final byte STDOUT = 1;
  static final byte STDERR = 2;
  static final byte EXIT = 3;
  static final byte REPLAYED = 4;
  static final byte OVERFLOW = 5;
  static final byte STDIN_CLOSE = 6;
  static final byte RESIZE = 7;
  static final byte STARTED = 8;
  static final byte ERROR = 9;
  /** WebSocket close status 1012: the sandbox moved; re-attach. */
  static final int SERVICE_RESTART = 1012;
  private static final Logger log = LoggerFactory.getLogger(ProcessSocket.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** With nothing to send for this long, a ping keeps the connection from idling out. */
  private static final Duration HEARTBEAT = Duration.ofSeconds(10);
  /** A client that does not take a message within this long is gone. */
  private static final Duration SEND_TIMEOUT = Duration.ofSeconds(60);

  /** Starts the process a socket follows; a refusal is a {@link KilnException}. */
  interface Starter {
    GuestProcess start() throws Exception;
  }

  private final ProcessService processes;
  private final String sandboxId;
  private final Starter starter;
  private final long cursor;
  /** Null until a starting socket's process has started; input before then is refused. */
  private volatile GuestProcess process;
  private volatile Session session;

  /** A client of a process already running, from {@code cursor}. */
  ProcessSocket(ProcessService processes, String sandboxId, GuestProcess process, long cursor) {
    this(processes, sandboxId, () -> process, cursor);
    this.process = process;
  }

  private ProcessSocket(ProcessService processes, String sandboxId, Starter starter, long cursor) {
    this.processes = processes;
    this.sandboxId = sandboxId;
    this.starter = starter;
    this.cursor = cursor;
  }

  /** A client whose socket starts the process: started (or error), then its output from the first byte. */
  static ProcessSocket starting(ProcessService processes, String sandboxId, Starter starter) {
    return new ProcessSocket(processes, sandboxId, starter, 0);
  }

  /**
   * A client that goes away mid-message (it had its exit, or was killed) is the normal end of a
   * follow, not a fault; anything else is logged with the sandbox and process it concerns.
   */
  @Override
  public void onWebSocketError(Throwable cause) {
    if (cause instanceof java.nio.channels.ClosedChannelException || cause instanceof java.io.EOFException) {
      log.debug("process follower left sandbox={} pid={}", sandboxId, pid());
      return;
    }
    log.warn("process websocket failed sandbox={} pid={} error=\"{}\"", sandboxId, pid(), cause.getMessage());
  }

  @Override
  public void onWebSocketOpen(Session s) {
    session = s;
    Thread.ofVirtual().name("process-ws-" + sandboxId + "-" + pid()).start(this::pump);
  }

  /** Start the process if this socket is to, then replay from the cursor and follow until the exit or until the client goes. */
  private void pump() {
    try {
      if (process == null && !started()) return;
      process.follow(cursor, true, HEARTBEAT, new OutputFollower() {
        public void overflow(long dropped, long resume) throws IOException {
          send(OVERFLOW, ByteBuffer.allocate(16).putLong(dropped).putLong(resume).array());
        }

        public void output(Scrollback.Chunk c) throws IOException {
          send(c.stderr() ? STDERR : STDOUT, c.data());
        }

        public void replayed(long at) throws IOException {
          send(REPLAYED, ByteBuffer.allocate(8).putLong(at).array());
        }

        public void idle(long at) throws IOException {
          Callback.Completable pong = new Callback.Completable();
          session.sendPing(ByteBuffer.allocate(0), pong);
          await(pong);
        }

        public void ended(GuestProcess p) throws IOException {
          if (p.status() == GuestProcess.Status.MOVED) {
            // Not an exit: the process runs on, on the sandbox's new node, where the same URL now leads.
            session.close(SERVICE_RESTART, "the sandbox moved to another node: re-attach with ?cursor=", Callback.NOOP);
            return;
          }
          send(EXIT, JSON.writeValueAsBytes(exitView(p)));
          session.close(StatusCode.NORMAL, "process " + p.status().name().toLowerCase(), Callback.NOOP);
        }
      });
    } catch (IOException e) {
      log.debug("process websocket closed sandbox={} pid={}: {}", sandboxId, pid(), e.toString());
      session.close(StatusCode.SHUTDOWN, "gone", Callback.NOOP);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private String pid() {
    GuestProcess p = process;
    return p == null ? "starting" : Long.toString(p.pid());
  }

  /** Starts the process and says so (8), or says why not (9) and closes. */
  private boolean started() throws IOException {
    GuestProcess p;
    try {
      p = starter.start();
    } catch (KilnException e) {
      int status = HttpStatusOf.of(e.code());
      send(ERROR, JSON.writeValueAsBytes(Map.of("status", status, "error", Map.of("code", e.code().name(), "message", e.getMessage()))));
      session.close(status >= 500 ? StatusCode.SERVER_ERROR : StatusCode.POLICY_VIOLATION, e.code().name(), Callback.NOOP);
      return false;
    } catch (Exception e) {
      log.warn("process start over a websocket failed sandbox={} error=\"{}\"", sandboxId, e.toString());
      send(ERROR, JSON.writeValueAsBytes(Map.of("status", 500, "error", Map.of("code", "INTERNAL", "message", "the process could not be started"))));
      session.close(StatusCode.SERVER_ERROR, "INTERNAL", Callback.NOOP);
      return false;
    }
    // Before the message: a client may answer it with input before this thread runs on.
    process = p;
    send(STARTED, JSON.writeValueAsBytes(ProcessRoutes.view(p)));
    return true;
  }

  private void send(byte type, byte[] payload) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(1 + payload.length).put(type).put(payload).flip();
    Callback.Completable done = new Callback.Completable();
    session.sendBinary(b, done);
    await(done);
  }

  /** Waits for a send; a client that does not take it within SEND_TIMEOUT, or is gone, fails it. */
  private static void await(Callback.Completable sent) throws IOException {
    try {
      sent.get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IOException("the client did not take a message: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public void onWebSocketBinary(ByteBuffer message, Callback callback) {
    try {
      if (!message.hasRemaining()) throw new IllegalArgumentException("an empty message");
      byte type = message.get();
      GuestProcess p = process;
      if (p == null) throw new IllegalArgumentException("input before the process started: wait for the started message (8)");
      byte[] data = new byte[message.remaining()];
      message.get(data);
      switch (type) {
        case STDIN -> processes.writeStdin(sandboxId, p.pid(), data, false);
        case STDIN_CLOSE -> processes.writeStdin(sandboxId, p.pid(), new byte[0], true);
        case RESIZE -> {
          if (data.length != 4) throw new IllegalArgumentException("a resize is u16 rows, u16 cols");
          ByteBuffer size = ByteBuffer.wrap(data);
          processes.resize(sandboxId, p.pid(), new TerminalSize(Short.toUnsignedInt(size.getShort()), Short.toUnsignedInt(size.getShort())));
        }
        default -> throw new IllegalArgumentException("message type " + type + " (the client sends 0 stdin, 6 close stdin or 7 resize)");
      }
      callback.succeed();
    } catch (KilnException e) {
      callback.succeed();
      // Input that reaches a process just ended (stdin closed as it exits) is moot: its exit, or
      // its move, follows from the pump, which closes the socket itself.
      if (process.status() != GuestProcess.Status.RUNNING) return;
      session.close(StatusCode.POLICY_VIOLATION, e.getMessage(), Callback.NOOP);
    } catch (IllegalArgumentException e) {
      callback.succeed();
      session.close(StatusCode.POLICY_VIOLATION, e.getMessage(), Callback.NOOP);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      callback.fail(e);
    }
  }

  @Override
  public void onWebSocketText(String message) {
    session.close(StatusCode.BAD_DATA, "messages are binary", Callback.NOOP);
  }

  static Map<String, Object> exitView(GuestProcess p) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("type", switch (p.status()) {
      case LOST -> "lost";
      case MOVED -> "moved";
      case RUNNING, EXITED -> "exit";
    });
    p.exit().ifPresent(e -> {
      m.put("exitCode", e.exitCode());
      if (e.signal() != 0) m.put("signal", e.signal());
      m.put("timedOut", e.timedOut());
    });
    return m;
  }
}
