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
  public enum Status {
    RUNNING, EXITED, LOST,
    /** Its sandbox moved to another node, which follows it from here on: clients re-attach there with their cursor. */
    MOVED
  }

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
    this(pid, argv, pty, login, handle, new Scrollback(scrollbackBytes), keepAlive, adopted, Instant.now());
  }

  private GuestProcess(long pid, List<String> argv, boolean pty, boolean login, ExecHandle handle, Scrollback output, Duration keepAlive,
      boolean adopted, Instant startedAt) {
    this.adopted = adopted;
    this.pid = pid;
    this.argv = List.copyOf(argv);
    this.pty = pty;
    this.login = login;
    this.handle = handle;
    this.startedAt = startedAt;
    this.output = output;
    this.keepAlive = keepAlive;
  }

  /**
   * A process a live migration brought here, suspended until this node's agent session lists it
   * ({@link #resumeOn}); its output keeps the offsets it had.
   */
  static GuestProcess arrived(MovedProcess m, long scrollbackBytes) {
    List<Scrollback.Chunk> kept = m.output().stream().map(o -> new Scrollback.Chunk(o.offset(), o.stderr(), o.data())).toList();
    GuestProcess p = new GuestProcess(m.pid(), m.argv(), m.pty(), m.login(), null, new Scrollback(Math.max(scrollbackBytes, m.outputEnd() - m.outputStart()),
        m.outputStart(), kept), Duration.ofMillis(m.keepAliveMillis()), m.adopted(), Instant.ofEpochMilli(m.startedAtMillis()));
    p.suspended = true;
    return p;
  }

  /** What a live migration carries of it. Taken once its output is held in the guest, so nothing follows that this misses. */
  MovedProcess leaving() {
    List<MovedProcess.Output> kept = output.kept().stream().map(c -> new MovedProcess.Output(c.offset(), c.stderr(), c.data())).toList();
    return new MovedProcess(pid, argv, pty, login, adopted, keepAlive.toMillis(), startedAt.toEpochMilli(), output.start(), output.length(), kept);
  }

  /** Its sandbox now runs on another node: followers here are told to re-attach there. */
  void moved() {
    endedAt = Instant.now();
    status = Status.MOVED;
    output.finish();
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

  /** The thread that moves its output from the agent's stream into the scrollback. */
  private volatile Thread pump;

  void pumpedBy(Thread t) {
    pump = t;
  }

  /** Waits until its pump has taken everything its closed session had delivered; false if it did not within {@code max}. */
  boolean awaitPumped(Duration max) throws InterruptedException {
    Thread t = pump;
    return t == null || t.join(max);
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
