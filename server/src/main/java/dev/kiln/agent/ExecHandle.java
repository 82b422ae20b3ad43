package dev.kiln.agent;

import java.time.Duration;

/**
 * A process running in the guest. One thread consumes its events with {@link #next}; stdin, signals
 * and cancel may come from any thread. {@link #close} before the exit kills the process group.
 */
public final class ExecHandle implements AutoCloseable {
  private final AgentConnection conn;
  private final Stream stream;
  private final long pid;
  private volatile boolean exited;

  ExecHandle(AgentConnection conn, Stream stream, long pid) {
    this.conn = conn;
    this.stream = stream;
    this.pid = pid;
  }

  public long pid() {
    return pid;
  }

  /** The next event, or null if none came within {@code timeout}. After {@link ExecEvent.Exited} there are no more. */
  public ExecEvent next(Duration timeout) throws AgentException, InterruptedException {
    GuestMessage m = stream.take(timeout);
    if (m == null) return null;
    return switch (m) {
      case GuestMessage.Bytes b when b.channel() != GuestMessage.Channel.DATA -> new ExecEvent.Output(b.channel() == GuestMessage.Channel.STDERR, b.data());
      case GuestMessage.Exit e -> {
        exited = true;
        conn.release(stream);
        yield new ExecEvent.Exited(e.status());
      }
      default -> throw conn.unexpected(stream, m, "STDOUT, STDERR or EXIT");
    };
  }

  /** Drops the output and waits for the exit; fails if it does not come within {@code timeout}. */
  public ExitStatus awaitExit(Duration timeout) throws AgentException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      long left = deadline - System.nanoTime();
      if (left <= 0) throw new AgentException("process " + pid + " did not exit within " + timeout.toMillis() + " ms", null);
      if (next(Duration.ofNanos(left)) instanceof ExecEvent.Exited x) return x.status();
    }
  }

  /** Sends stdin bytes, blocking while the guest's window for this process is full. */
  public void writeStdin(byte[] data) throws AgentException, InterruptedException {
    int off = 0;
    while (off < data.length) {
      int n = stream.acquireCredit(Math.min(data.length - off, FrameCodec.DATA_CHUNK));
      byte[] chunk = java.util.Arrays.copyOfRange(data, off, off + n);
      conn.send(stream.id, new HostMessage.Stdin(chunk));
      off += n;
    }
  }

  public void closeStdin() throws AgentException {
    conn.send(stream.id, new HostMessage.Bare(FrameType.STDIN_CLOSE));
  }

  /** A pty process's terminal changes size (its foreground process group gets SIGWINCH). */
  public void resize(TerminalSize size) throws AgentException {
    conn.send(stream.id, new HostMessage.Resize(size));
  }

  public void signal(int signo) throws AgentException {
    conn.send(stream.id, new HostMessage.Signal(signo));
  }

  @Override
  public void close() {
    if (!exited) conn.cancel(stream);
  }
}
