package dev.kiln.sandbox;

import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExitStatus;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A background process in a sandbox, started through the processes API. Its output goes into a
 * bounded {@link Scrollback} whether or not anyone is reading it, so it runs on when its client goes
 * away and the client can re-attach from its cursor.
 */
public final class GuestProcess {
  /** Where a process is in its life. LOST: its sandbox's agent channel closed (a pause, a restart); its output is no longer followed. */
  public enum Status { RUNNING, EXITED, LOST }

  private final long pid;
  private final List<String> argv;
  private final boolean pty;
  /** Started as a login (its user's login shell when argv is empty). */
  private final boolean login;
  private final Instant startedAt;
  /** Replaced when the sandbox's agent session is resumed (after a pause or a daemon restart). */
  private volatile ExecHandle handle;
  /** Its session is being closed for a pause: the end of its output stream is not its end. */
  private volatile boolean suspended;
  /** Found running by a daemon that did not start it (after a restart): its argv is not known. */
  private final boolean adopted;
  private final Scrollback output;
  private volatile Status status = Status.RUNNING;
  private volatile ExitStatus exit;
  private volatile Instant endedAt;
  /** How long it runs on with no client attached (zero: until it exits); see {@link #unattendedFor}. */
  private final Duration keepAlive;
  private final java.util.concurrent.atomic.AtomicInteger attached = new java.util.concurrent.atomic.AtomicInteger();
  /** When the last client left, or last read its output (nanoTime); starts at creation, since no one is attached yet. */
  private volatile long lastSeenNanos = System.nanoTime();
  private volatile boolean killedUnattended;

  GuestProcess(long pid, List<String> argv, boolean pty, boolean login, ExecHandle handle, long scrollbackBytes, Duration keepAlive) {
    this(pid, argv, pty, login, handle, scrollbackBytes, keepAlive, false);
  }

  GuestProcess(long pid, List<String> argv, boolean pty, boolean login, ExecHandle handle, long scrollbackBytes, Duration keepAlive,
      boolean adopted) {
    this.adopted = adopted;
    this.pid = pid;
    this.argv = List.copyOf(argv);
    this.pty = pty;
    this.login = login;
    this.handle = handle;
    this.startedAt = Instant.now();
    this.output = new Scrollback(scrollbackBytes);
    this.keepAlive = keepAlive;
  }

  public boolean login() {
    return login;
  }

  public boolean adopted() {
    return adopted;
  }

  boolean suspended() {
    return suspended;
  }

  void suspend() {
    suspended = true;
  }

  /** Follows the process on a resumed session's stream from now on. */
  void resumeOn(ExecHandle h) {
    handle = h;
    suspended = false;
  }

  public Duration keepAlive() {
    return keepAlive;
  }

  /** It was killed because no client attached within its keep-alive time. */
  public boolean killedUnattended() {
    return killedUnattended;
  }

  /** How long no client has followed or read its output; zero while one follows. */
  Duration unattendedFor(long nowNanos) {
    return attached.get() > 0 ? Duration.ZERO : Duration.ofNanos(nowNanos - lastSeenNanos);
  }

  void markKilledUnattended() {
    killedUnattended = true;
  }

  public long pid() {
    return pid;
  }

  public List<String> argv() {
    return argv;
  }

  /** Runs on a pseudo-terminal: all its output is "stdout", and it can be resized. */
  public boolean pty() {
    return pty;
  }

  public Instant startedAt() {
    return startedAt;
  }

  public Status status() {
    return status;
  }

  public Optional<ExitStatus> exit() {
    return Optional.ofNullable(exit);
  }

  public Optional<Instant> endedAt() {
    return Optional.ofNullable(endedAt);
  }

  /**
   * Tells {@code to} the output from {@code cursor} on: the kept output, then, when {@code live},
   * new output as it comes (an idle tick every {@code heartbeat} without any) until the process
   * ends. Without {@code live} it returns after the replay, telling the end only if it came.
   */
  public void follow(long cursor, boolean live, Duration heartbeat, OutputFollower to) throws IOException, InterruptedException {
    if (live) attached.incrementAndGet();
    try {
      followFrom(cursor, live, heartbeat, to);
    } finally {
      lastSeenNanos = System.nanoTime();
      if (live) attached.decrementAndGet();
    }
  }

  private void followFrom(long cursor, boolean live, Duration heartbeat, OutputFollower to) throws IOException, InterruptedException {
    boolean replayed = false;
    while (true) {
      Scrollback.Slice s = output.read(cursor, replayed && live ? heartbeat : Duration.ZERO);
      if (s.dropped() > 0) to.overflow(s.dropped(), s.firstOffset());
      for (Scrollback.Chunk c : s.chunks()) to.output(c);
      cursor = s.next();
      if (!replayed) {
        to.replayed(cursor);
        replayed = true;
      } else if (s.chunks().isEmpty() && !s.ended()) {
        to.idle(cursor);
      }
      if (s.ended()) {
        to.ended(this);
        return;
      }
      if (!live) return;
    }
  }

  public long outputBytes() {
    return output.length();
  }

  void append(boolean stderr, byte[] data) {
    output.append(stderr, data);
  }

  ExecHandle handle() {
    return handle;
  }

  void exited(ExitStatus s) {
    exit = s;
    endedAt = Instant.now();
    status = Status.EXITED;
    output.finish();
  }

  void lost() {
    endedAt = Instant.now();
    status = Status.LOST;
    output.finish();
  }
}
