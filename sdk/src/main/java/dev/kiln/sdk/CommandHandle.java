package dev.kiln.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * A command running in a sandbox, followed over a WebSocket: its output goes to the callbacks as it
 * comes, stdin and signals go to it. Closing the handle stops following; the command runs on.
 */
public final class CommandHandle implements AutoCloseable {
  private final Kiln kiln;
  private final String sandboxId;
  private final long pid;
  /** Replaced when the daemon says the sandbox moved (a live migration): the same process, followed on its new node. */
  private volatile WebSocket socket;
  private final Output output;
  private volatile boolean closed;

  CommandHandle(Kiln kiln, String sandboxId, long pid, long cursor, Consumer<byte[]> onStdout, Consumer<byte[]> onStderr) {
    this(kiln, sandboxId, pid, cursor, onStdout, onStderr, true);
  }

  /** {@code keepOutput} false: output goes only to the callbacks, so a long stream costs no memory. */
  CommandHandle(Kiln kiln, String sandboxId, long pid, long cursor, Consumer<byte[]> onStdout, Consumer<byte[]> onStderr, boolean keepOutput) {
    this.kiln = kiln;
    this.sandboxId = sandboxId;
    this.pid = pid;
    this.output = new Output(cursor, onStdout, onStderr, keepOutput);
    output.reattach = this::reattach;
    this.socket = kiln.webSocket(path(cursor), output);
  }

  private CommandHandle(Kiln kiln, String sandboxId, long pid, WebSocket socket, Output output) {
    this.kiln = kiln;
    this.sandboxId = sandboxId;
    this.pid = pid;
    this.output = output;
    this.socket = socket;
    output.reattach = this::reattach;
  }

  /**
   * Starts a command and follows it on one WebSocket (the daemon starts it as the handshake is
   * answered, and says its pid first): one connection instead of a request and then a socket.
   */
  static CommandHandle starting(Kiln kiln, String sandboxId, String encodedStart, Duration timeout, Consumer<byte[]> onStdout,
      Consumer<byte[]> onStderr) {
    Output output = new Output(0, onStdout, onStderr, true);
    WebSocket socket = kiln.webSocket("/v1/sandboxes/" + sandboxId + "/processes/ws?start=" + encodedStart, output);
    try {
      JsonNode started = output.started.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return new CommandHandle(kiln, sandboxId, started.path("pid").asLong(), socket, output);
    } catch (ExecutionException e) {
      socket.abort();
      if (e.getCause() instanceof KilnException k) throw k;
      throw new KilnException("the command did not start: " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      socket.abort();
      throw new KilnException("the daemon did not say within " + timeout.toSeconds() + " s whether the command started", e);
    } catch (InterruptedException e) {
      socket.abort();
      Thread.currentThread().interrupt();
      throw new KilnException("interrupted", e);
    }
  }

  private String path(long cursor) {
    return "/v1/sandboxes/" + sandboxId + "/processes/" + pid + "/ws?cursor=" + cursor;
  }

  /**
   * The daemon closed the socket with 1012: the sandbox moved to another node and the process runs
   * on there. The same URL leads there now; following on from the cursor misses and repeats nothing.
   */
  private void reattach() {
    if (closed) return;
    Thread.ofVirtual().name("reattach-" + pid).start(() -> {
      try {
        socket = kiln.webSocket(path(output.cursor()), output);
      } catch (KilnException e) {
        output.lost(e);
      }
    });
  }

  /**
   * Where in the command's output this handle has read to. A client that loses its handle (or its
   * connection) re-attaches from here with {@link Commands#connect} and misses nothing the daemon
   * still keeps.
   */
  public long cursor() {
    return output.cursor();
  }

  /** The command's pid in the sandbox. */
  public long pid() {
    return pid;
  }

  public void sendStdin(String text) {
    sendStdin(text.getBytes(StandardCharsets.UTF_8));
  }

  public void sendStdin(byte[] data) {
    send(0, data);
  }

  /** End of input: the command reads EOF (for a terminal, send "\u0004" instead). */
  public void closeStdin() {
    send(6, new byte[0]);
  }

  /** A terminal's new size (for {@link Sandbox#pty}); the command gets SIGWINCH. */
  public void resize(int rows, int cols) {
    send(7, ByteBuffer.allocate(4).putShort((short) rows).putShort((short) cols).array());
  }

  /** Sends a signal by name ("INT", "TERM", "KILL", …) to the command's process group. */
  public void signal(String name) {
    kiln.post("/v1/sandboxes/" + sandboxId + "/processes/" + pid + "/signal", Map.of("signal", name));
  }

  public void kill() {
    signal("KILL");
  }

  /**
   * Waits for the command to end and returns its exit status and all of its output. A command
   * whose end could not be followed (its sandbox was paused, stopped or restored meanwhile) is a
   * {@link KilnException} with code PROCESS_LOST.
   */
  public CommandResult await(Duration timeout) throws TimeoutException, InterruptedException {
    try {
      JsonNode exit = output.exit.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (exit.path("type").asText().equals("lost")) {
        throw new KilnException(0, "PROCESS_LOST", "command " + pid + " in sandbox " + sandboxId
            + " can no longer be followed: the sandbox was paused, stopped or restored while it ran");
      }
      return new CommandResult(exit.path("exitCode").asInt(-1), exit.path("signal").asInt(0), exit.path("timedOut").asBoolean(),
          output.stdout(), output.stderr());
    } catch (ExecutionException e) {
      throw new KilnException("lost the command's output: " + e.getCause().getMessage(), e.getCause());
    }
  }

  private void send(int type, byte[] data) {
    ByteBuffer m = ByteBuffer.allocate(1 + data.length).put((byte) type).put(data).flip();
    socket.sendBinary(m, true).join();
  }

  @Override
  public void close() {
    closed = true;
    socket.abort();
  }

  /** The WebSocket side: whole messages by their type byte. */
  private static final class Output implements WebSocket.Listener {
    final CompletableFuture<JsonNode> exit = new CompletableFuture<>();
    private final Consumer<byte[]> onStdout;
    private final Consumer<byte[]> onStderr;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    /** The daemon's started message when this socket started the command (its pid), or its refusal. */
    final CompletableFuture<JsonNode> started = new CompletableFuture<>();
    private final boolean keep;
    volatile Runnable reattach = () -> { };
    private long cursor;
    /** WebSocket close status the daemon sends when the sandbox moved to another node (a live migration). */
    private static final int MOVED = 1012;

    Output(long cursor, Consumer<byte[]> onStdout, Consumer<byte[]> onStderr, boolean keep) {
      this.cursor = cursor;
      this.keep = keep;
      this.onStdout = onStdout;
      this.onStderr = onStderr;
    }

    synchronized long cursor() {
      return cursor;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
      byte[] b = new byte[data.remaining()];
      data.get(b);
      partial.writeBytes(b);
      if (last) {
        byte[] m = partial.toByteArray();
        partial.reset();
        handle(m);
      }
      ws.request(1);
      return null;
    }

    private void handle(byte[] m) {
      if (m.length == 0) return;
      byte[] body = java.util.Arrays.copyOfRange(m, 1, m.length);
      switch (m[0]) {
        case 1 -> {
          synchronized (this) {
            if (keep) stdout.writeBytes(body);
            cursor += body.length;
          }
          onStdout.accept(body);
        }
        case 2 -> {
          synchronized (this) {
            if (keep) stderr.writeBytes(body);
            cursor += body.length;
          }
          onStderr.accept(body);
        }
        case 5 -> {
          if (body.length == 16) {
            synchronized (this) {
              cursor = ByteBuffer.wrap(body).getLong(8); // output before this was dropped by the daemon
            }
          }
        }
        case 3 -> json(body).ifPresent(exit::complete);
        case 8 -> json(body).ifPresent(started::complete);
        case 9 -> json(body).ifPresent(refusal -> {
          KilnException e = new KilnException(refusal.path("status").asInt(), refusal.path("error").path("code").asText(),
              refusal.path("error").path("message").asText());
          started.completeExceptionally(e);
          exit.completeExceptionally(e);
        });
        default -> { } // end-of-replay: nothing to do for a live follower
      }
    }

    private java.util.Optional<JsonNode> json(byte[] body) {
      try {
        return java.util.Optional.of(Kiln.JSON.readTree(body));
      } catch (java.io.IOException e) {
        started.completeExceptionally(e);
        exit.completeExceptionally(e);
        return java.util.Optional.empty();
      }
    }

    synchronized String stdout() {
      return stdout.toString(StandardCharsets.UTF_8);
    }

    synchronized String stderr() {
      return stderr.toString(StandardCharsets.UTF_8);
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
      if (status == MOVED && !exit.isDone()) {
        reattach.run();
        return null;
      }
      IllegalStateException closed = new IllegalStateException("the connection closed before the command ended (" + status + " " + reason + ")");
      started.completeExceptionally(closed);
      exit.completeExceptionally(closed);
      return null;
    }

    void lost(Exception why) {
      exit.completeExceptionally(why);
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      started.completeExceptionally(error);
      exit.completeExceptionally(error);
    }
  }
}
