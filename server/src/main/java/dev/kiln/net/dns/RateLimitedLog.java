package dev.kiln.net.dns;

import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;

/**
 * Counts events a guest can cause at will (malformed packets, dropped queries) and logs at most one
 * WARN line per interval, with the count and the latest example, so a flood cannot fill the log.
 */
final class RateLimitedLog {
  private final Logger log;
  private final String what;
  private final long intervalNanos;
  private final AtomicLong count = new AtomicLong();
  private final AtomicLong nextReport;

  RateLimitedLog(Logger log, String what, Duration interval) {
    this.log = log;
    this.what = what;
    this.intervalNanos = interval.toNanos();
    this.nextReport = new AtomicLong(System.nanoTime());
  }

  void record(InetAddress source, String detail) {
    count.incrementAndGet();
    long now = System.nanoTime();
    long next = nextReport.get();
    if (now - next >= 0 && nextReport.compareAndSet(next, now + intervalNanos)) {
      log.warn("dns {} count={} latest_client={} latest={}", what, count.getAndSet(0), source.getHostAddress(), detail);
    }
  }
}
