package dev.kiln.agent;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One multiplexed stream's state on the host. The connection's reader thread only calls
 * {@link #deliver} and {@link #grant}, which never block; the request thread that owns the stream
 * consumes with {@link #take} and returns credit to the guest as it goes.
 *
 * <p>Bounds: data bytes queued here never exceed the receive window (the guest may not send more);
 * all queued messages together cost at most {@link #MAX_QUEUED_COST} (payload plus a fixed overhead
 * per message, so a flood of tiny or control frames is bounded too). Going over either is a
 * protocol error that ends the connection.
 */
final class Stream {
  static final int INITIAL_WINDOW = 256 * 1024;
  /** Worst legitimate case: a full window in 1-byte frames alternating stdout/stderr is ~17 MiB of cost. */
  static final long MAX_QUEUED_COST = 32L << 20;
  private static final int MESSAGE_OVERHEAD = 64;
  /** Credit is returned in batches so a stream of tiny frames does not cause a WINDOW per frame. */
  private static final int CREDIT_BATCH = 32 * 1024;
  /** A guest granting more than this much unspent credit is lying or broken. */
  private static final long MAX_SEND_CREDIT = 1L << 30;

  final int id;
  private final AgentConnection conn;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<GuestMessage> inbox = new ArrayDeque<>();
  private long queuedCost;
  private long receiveWindow = INITIAL_WINDOW;
  private long sendCredit = INITIAL_WINDOW;
  private int unreturnedCredit;
  private Throwable failure;

  Stream(int id, AgentConnection conn) {
    this.id = id;
    this.conn = conn;
  }

  /** Reader thread: queue a message from the guest. */
  void deliver(GuestMessage m) throws ProtocolException {
    lock.lock();
    try {
      if (m instanceof GuestMessage.Bytes b) {
        receiveWindow -= b.data().length;
        if (receiveWindow < 0) {
          throw new ProtocolException("stream " + id + ": guest sent " + (-receiveWindow) + " bytes beyond its window");
        }
      }
      queuedCost += cost(m);
      if (queuedCost > MAX_QUEUED_COST) throw new ProtocolException("stream " + id + ": guest flooded it with " + queuedCost + " bytes of frames");
      inbox.add(m);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Reader thread: the guest returned send credit. */
  void grant(long increment) throws ProtocolException {
    lock.lock();
    try {
      sendCredit += increment;
      if (sendCredit > MAX_SEND_CREDIT) throw new ProtocolException("stream " + id + ": guest granted " + sendCredit + " bytes of credit");
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  void fail(Throwable cause) {
    lock.lock();
    try {
      if (failure == null) failure = cause;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Next message, or null after {@code timeout}. Returns credit for data taken. */
  GuestMessage take(Duration timeout) throws AgentException, InterruptedException {
    GuestMessage m;
    int creditToReturn = 0;
    lock.lock();
    try {
      long nanos = timeout.toNanos();
      while (inbox.isEmpty()) {
        if (failure != null) throw new AgentException("agent channel closed: " + failure.getMessage(), failure);
        if (nanos <= 0) return null;
        nanos = changed.awaitNanos(nanos);
      }
      m = inbox.poll();
      queuedCost -= cost(m);
      if (m instanceof GuestMessage.Bytes b) {
        receiveWindow += b.data().length;
        unreturnedCredit += b.data().length;
        if (unreturnedCredit >= CREDIT_BATCH || inbox.isEmpty()) {
          creditToReturn = unreturnedCredit;
          unreturnedCredit = 0;
        }
      }
    } finally {
      lock.unlock();
    }
    if (creditToReturn > 0) conn.send(id, new HostMessage.Window(creditToReturn));
    return m;
  }

  GuestMessage take() throws AgentException, InterruptedException {
    return take(Duration.ofDays(365));
  }

  /** Blocks until at least one byte of send credit is available; returns how much of {@code want} may be sent now. */
  int acquireCredit(int want) throws AgentException, InterruptedException {
    lock.lock();
    try {
      while (sendCredit <= 0) {
        if (failure != null) throw new AgentException("agent channel closed: " + failure.getMessage(), failure);
        // A guest that failed the transfer (a full disk, say) answers ERROR and grants nothing more:
        // the error, not the wait, is what the sender must get.
        for (GuestMessage m : inbox) {
          if (m instanceof GuestMessage.Error e) throw new AgentException(e.errno(), e.message());
        }
        changed.await(1, TimeUnit.SECONDS);
      }
      int n = (int) Math.min(want, sendCredit);
      sendCredit -= n;
      return n;
    } finally {
      lock.unlock();
    }
  }

  private static long cost(GuestMessage m) {
    return MESSAGE_OVERHEAD + switch (m) {
      case GuestMessage.Bytes b -> b.data().length;
      case GuestMessage.Entries e -> e.entries().stream().mapToLong(x -> 64L + x.name().length()).sum();
      case GuestMessage.Error e -> e.message().length();
      case GuestMessage.HelloOk h -> h.agentVersion().length();
      case GuestMessage.Stat s -> s.entry().name().length();
      case GuestMessage.Started s -> 0;
      case GuestMessage.Exit e -> 0;
      case GuestMessage.Ok o -> 0;
      case GuestMessage.Window w -> 0;
      case GuestMessage.End e -> 0;
    };
  }
}
