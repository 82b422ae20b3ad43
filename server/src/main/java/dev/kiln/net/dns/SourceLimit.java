package dev.kiln.net.dns;

import java.net.InetAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Caps work in progress in total and per client address, so one sandbox cannot take every slot
 * and starve the others.
 */
final class SourceLimit {
  private final int total;
  private final int perSource;
  private final AtomicInteger used = new AtomicInteger();
  private final ConcurrentHashMap<InetAddress, Integer> bySource = new ConcurrentHashMap<>();

  SourceLimit(int total, int perSource) {
    this.total = total;
    this.perSource = perSource;
  }

  /** True when a slot was taken; the caller then owes exactly one {@link #release}. */
  boolean tryAcquire(InetAddress source) {
    if (used.incrementAndGet() > total) {
      used.decrementAndGet();
      return false;
    }
    boolean[] taken = {false};
    bySource.compute(source, (k, n) -> {
      int current = n == null ? 0 : n;
      if (current >= perSource) return n;
      taken[0] = true;
      return current + 1;
    });
    if (!taken[0]) used.decrementAndGet();
    return taken[0];
  }

  void release(InetAddress source) {
    bySource.computeIfPresent(source, (k, n) -> n == 1 ? null : n - 1);
    used.decrementAndGet();
  }
}
