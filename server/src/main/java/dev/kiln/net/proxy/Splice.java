package dev.kiln.net.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Copies bytes both ways between two connected sockets until both directions are done.
 *
 * <p>Each direction runs on its own virtual thread and ends at EOF by half-closing its
 * destination ({@code shutdownOutput}), so a peer that finished sending still receives the
 * other side's answer. An I/O error in either direction (reset, or a socket closed under it)
 * closes both sockets, which ends the other direction too. The calling thread is the
 * watchdog: it closes both sockets when no read or write completed for the idle timeout, which
 * also catches a writer stuck on a peer that stopped reading.
 */
final class Splice {
  // 16 KiB per direction keeps 1024 connections within 32 MiB while moving bulk data at full speed.
  private static final int BUFFER = 16 * 1024;

  private final Socket a;
  private final Socket b;
  private final AtomicLong lastActivity = new AtomicLong(System.nanoTime());
  private final CountDownLatch done = new CountDownLatch(2);

  private Splice(Socket a, Socket b) {
    this.a = a;
    this.b = b;
  }

  /**
   * Splices {@code a} and {@code b}, sending {@code toB} to {@code b} first (bytes already read
   * from {@code a}); returns when both directions are done, with both sockets closed.
   *
   * @param idle close both after this long without a byte moving; empty = never
   */
  static void run(Socket a, byte[] toB, Socket b, Optional<Duration> idle) {
    Splice s = new Splice(a, b);
    try {
      a.setSoTimeout(0);
      b.setSoTimeout(0);
      a.setTcpNoDelay(true);
      b.setTcpNoDelay(true);
      Thread.ofVirtual().name("splice-up").start(() -> s.pump(a, toB, b));
      Thread.ofVirtual().name("splice-down").start(() -> s.pump(b, new byte[0], a));
      s.watch(idle);
    } catch (IOException e) {
      // a socket was already closed: the finally closes the other
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      s.abort();
    }
  }

  private void watch(Optional<Duration> idle) throws InterruptedException {
    if (idle.isEmpty()) {
      done.await();
      return;
    }
    long limit = idle.get().toNanos();
    // Checking four times per period closes an idle splice between 1 and 1.25 idle periods.
    long every = Math.max(1, limit / 4);
    while (!done.await(every, TimeUnit.NANOSECONDS)) {
      if (System.nanoTime() - lastActivity.get() >= limit) return;
    }
  }

  private void pump(Socket from, byte[] first, Socket to) {
    try {
      OutputStream out = to.getOutputStream();
      out.write(first);
      InputStream in = from.getInputStream();
      byte[] buf = new byte[BUFFER];
      for (int n; (n = in.read(buf)) >= 0; ) {
        lastActivity.set(System.nanoTime());
        out.write(buf, 0, n);
        lastActivity.set(System.nanoTime());
      }
      to.shutdownOutput();
    } catch (IOException e) {
      // reset, or closed by the other direction, the watchdog or the owner: nothing more can move
      abort();
    } finally {
      done.countDown();
    }
  }

  private void abort() {
    Listener.closeQuietly(a);
    Listener.closeQuietly(b);
  }
}
