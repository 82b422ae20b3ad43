package dev.kiln.agent;

import java.io.IOException;
import dev.kiln.host.SocketInput;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One sandbox's channel to its guest agent.
 *
 * <p>Concurrency (see docs/agent-protocol.md): one reader thread per connection decodes frames and
 * hands them to their {@link Stream} without ever blocking on a consumer or on a write; request
 * threads own their streams, consume from them and write frames; a lock is held for exactly one
 * frame write. A protocol violation or I/O error fails the whole connection: every stream's
 * consumer wakes with an {@link AgentException} and {@code onBroken} hears why, once.
 */
public final class AgentConnection implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AgentConnection.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final String label;
  private final SocketChannel channel;
  private final Object writeLock = new Object();
  private final Map<Integer, Stream> streams = new ConcurrentHashMap<>();
  private final AtomicInteger lastStream = new AtomicInteger();
  private final CompletableFuture<GuestMessage.HelloOk> hello = new CompletableFuture<>();
  /** Echoed at the start of HELLO_OK: how the reader finds this session's first frame behind bytes of an earlier one. */
  private final byte[] nonce = new byte[16];
  private volatile List<ExecHandle> resumed = List.of();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private final Consumer<Throwable> onBroken;
  private volatile boolean closing;

  private AgentConnection(String label, SocketChannel channel, Consumer<Throwable> onBroken) {
    this.label = label;
    this.channel = channel;
    this.onBroken = onBroken;
    RANDOM.nextBytes(nonce);
    Thread.ofVirtual().name("agent-reader-" + label).start(this::readLoop);
  }

  /**
   * Connects to the agent socket QEMU serves and completes the HELLO handshake, which also sets the
   * guest clock, feeds it entropy and names it: {@code label} (the sandbox id) is in every log line
   * about this connection and becomes the guest's hostname. The guest may still be booting: the
   * handshake waits up to {@code timeout} for it.
   */
  public static AgentConnection open(Path socket, String label, Duration timeout, Consumer<Throwable> onBroken)
      throws AgentException, InterruptedException {
    return connect(socket, label, timeout, onBroken, false);
  }

  /**
   * Takes back the session of a guest this host (or its previous incarnation) talked to before: a
   * resumed pause, a re-adopted VM. Commands still running in it are kept and come back as
   * {@link #resumedExecs}; output they wrote while no host was connected is lost.
   */
  public static AgentConnection resume(Path socket, String label, Duration timeout, Consumer<Throwable> onBroken)
      throws AgentException, InterruptedException {
    return connect(socket, label, timeout, onBroken, true);
  }

  /** The commands a {@link #resume} found running, in the guest's order. */
  public List<ExecHandle> resumedExecs() {
    return resumed;
  }

  private static AgentConnection connect(Path socket, String label, Duration timeout, Consumer<Throwable> onBroken, boolean resume)
      throws AgentException, InterruptedException {
    SocketChannel ch;
    try {
      ch = dev.kiln.host.UnixPeers.connect(socket); // QEMU could have put a link to another VM's socket here
    } catch (IOException e) {
      throw new AgentException("cannot connect to agent socket " + socket + ": " + e.getMessage(), e);
    }
    AgentConnection c = new AgentConnection(label, ch, onBroken);
    try {
      c.handshake(timeout, resume);
      return c;
    } catch (AgentException | InterruptedException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  private void handshake(Duration timeout, boolean resume) throws AgentException, InterruptedException {
    byte[] entropy = new byte[64];
    RANDOM.nextBytes(entropy);
    Instant now = Instant.now();
    send(0, new HostMessage.Hello(now.getEpochSecond() * 1_000_000_000L + now.getNano(), entropy, resume, nonce, hostnameOf(label)));
    try {
      GuestMessage.HelloOk ok = hello.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      log.info("agent ready sandbox={} agent_version={} protocol={} resumed_commands={}", label, ok.agentVersion(), ok.version(), ok.running().size());
    } catch (TimeoutException e) {
      throw new AgentException("guest agent did not answer HELLO within " + timeout.toSeconds() + "s", e);
    } catch (ExecutionException e) {
      throw new AgentException("agent channel failed during HELLO: " + e.getCause().getMessage(), e.getCause());
    }
  }

  /** The label as a hostname (a sandbox id always is one); anything else leaves the guest's hostname as it is. */
  static String hostnameOf(String label) {
    return label.length() <= HostMessage.Hello.MAX_HOSTNAME && label.matches("[A-Za-z0-9][A-Za-z0-9.-]*") ? label : "";
  }

  /** Starts a process; returns once the guest reports its pid, or throws with the guest's errno. */
  public ExecHandle exec(ExecRequest req) throws AgentException, InterruptedException {
    Stream s = open(new HostMessage.Exec(req));
    GuestMessage first = takeReply(s, Duration.ofSeconds(30));
    return switch (first) {
      case GuestMessage.Started st -> new ExecHandle(this, s, st.pid());
      default -> throw unexpected(s, first, "STARTED");
    };
  }

  public GuestFiles files() {
    return new GuestFiles(this);
  }

  /** Opens a new stream with its first message. */
  Stream open(HostMessage first) throws AgentException {
    Stream s = new Stream(lastStream.incrementAndGet(), this);
    streams.put(s.id, s);
    Throwable f = failure.get();
    if (f != null) s.fail(f);
    send(s.id, first);
    return s;
  }

  /** Ends the host's interest in a stream; late frames for it are dropped. */
  void release(Stream s) {
    streams.remove(s.id);
  }

  /** Takes the next message for a request/response operation, turning ERROR into an exception. */
  GuestMessage takeReply(Stream s, Duration timeout) throws AgentException, InterruptedException {
    GuestMessage m = s.take(timeout);
    if (m == null) {
      cancel(s);
      throw new AgentException("guest agent did not answer within " + timeout.toSeconds() + "s", null);
    }
    if (m instanceof GuestMessage.Error e) {
      release(s);
      throw new AgentException(e.errno(), e.message());
    }
    return m;
  }

  AgentException unexpected(Stream s, GuestMessage got, String expected) {
    ProtocolException pe = new ProtocolException("stream " + s.id + ": expected " + expected + ", the guest sent " + got.getClass().getSimpleName());
    fail(pe);
    return new AgentException(pe.getMessage(), pe);
  }

  void cancel(Stream s) {
    release(s);
    try {
      send(s.id, new HostMessage.Bare(FrameType.CANCEL));
    } catch (AgentException e) {
      // The channel is gone: nothing left to cancel.
    }
  }

  void send(int stream, HostMessage m) throws AgentException {
    byte[] frame = FrameCodec.encode(m.type(), stream, m.payload());
    Throwable f = failure.get();
    if (f != null) throw new AgentException("agent channel closed: " + f.getMessage(), f);
    synchronized (writeLock) {
      try {
        ByteBuffer b = ByteBuffer.wrap(frame);
        while (b.hasRemaining()) channel.write(b);
      } catch (IOException e) {
        fail(e);
        throw new AgentException("write to agent failed: " + e.getMessage(), e);
      }
    }
  }

  private void readLoop() {
    InputStream in = new java.io.BufferedInputStream(new SocketInput(channel), FrameCodec.DATA_CHUNK);
    try {
      dispatch(FrameCodec.readHelloOk(in, nonce));
      while (true) {
        Frame f = FrameCodec.read(in);
        if (f == null) throw new IOException("guest closed the agent channel");
        dispatch(f);
      }
    } catch (IOException | ProtocolException | RuntimeException e) {
      fail(e);
    }
  }

  private void dispatch(Frame f) throws ProtocolException {
    GuestMessage m = GuestMessage.decode(f);
    if (f.stream() == 0) {
      if (!(m instanceof GuestMessage.HelloOk ok) || hello.isDone()) {
        throw new ProtocolException("stream 0 carries only one HELLO_OK, the guest sent " + m.getClass().getSimpleName());
      }
      if (ok.version() != FrameCodec.VERSION) throw new ProtocolException("guest speaks protocol " + ok.version() + ", expected " + FrameCodec.VERSION);
      List<ExecHandle> kept = new java.util.ArrayList<>();
      for (GuestMessage.Running r : ok.running()) {
        if (r.stream() == 0 || streams.containsKey(r.stream())) throw new ProtocolException("HELLO_OK lists stream " + Integer.toUnsignedString(r.stream()) + " twice or as 0");
        Stream st = new Stream(r.stream(), this);
        streams.put(st.id, st);
        lastStream.accumulateAndGet(r.stream(), (a, b) -> Integer.compareUnsigned(a, b) >= 0 ? a : b);
        kept.add(new ExecHandle(this, st, r.pid()));
      }
      resumed = List.copyOf(kept);
      hello.complete(ok);
      return;
    }
    if (!hello.isDone()) throw new ProtocolException("frame on stream " + Integer.toUnsignedString(f.stream()) + " before HELLO_OK");
    Stream s = streams.get(f.stream());
    if (s == null) {
      if (Integer.compareUnsigned(f.stream(), lastStream.get()) > 0) {
        throw new ProtocolException("frame for stream " + Integer.toUnsignedString(f.stream()) + ", which the host never opened");
      }
      return; // a stream the host already let go of (cancelled or finished); late frames are fine
    }
    if (m instanceof GuestMessage.Window w) {
      s.grant(w.increment());
    } else {
      s.deliver(m);
    }
  }

  private void fail(Throwable cause) {
    if (!failure.compareAndSet(null, cause)) return;
    hello.completeExceptionally(cause);
    streams.values().forEach(s -> s.fail(cause));
    try {
      channel.close();
    } catch (IOException e) {
      // Already failing; the original cause is what matters.
    }
    if (!closing) {
      log.warn("agent channel broken sandbox={} cause={}", label, cause.toString());
      if (onBroken != null) onBroken.accept(cause);
    }
  }

  /**
   * Whether the channel ended because the host closed it (a pause, stop, restore or delete of its
   * sandbox) rather than by breaking first: the first of the two decides, whatever came after.
   */
  public boolean closedByHost() {
    return failure.get() instanceof ClosedByHost;
  }

  /** The failure every stream sees when the host closes the channel on purpose. */
  private static final class ClosedByHost extends IOException {
    ClosedByHost() {
      super("connection closed by the host");
    }
  }

  public boolean isOpen() {
    return failure.get() == null;
  }

  @Override
  public void close() {
    closing = true;
    fail(new ClosedByHost());
  }
}
