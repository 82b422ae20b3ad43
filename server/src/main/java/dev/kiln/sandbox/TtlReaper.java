package dev.kiln.sandbox;

import dev.kiln.error.KilnException;
import dev.kiln.store.SandboxRow;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where sandbox TTLs are enforced. A pass lists the sandboxes whose expiry has passed and hands
 * each to its own virtual thread: at most {@link #CONCURRENCY} expiries run at once, and never two
 * for one sandbox (one still running from an earlier pass is not started again). What an expiry
 * does (pause or delete, by the sandbox's onTimeout) is decided by {@link Expiry} inside the
 * sandbox's locked transition, on its row as it is then: this class only chooses candidates.
 */
final class TtlReaper {
  /**
   * Expiries at once. Each stops a QEMU, and a pause streams the guest's RAM to disk: four keep a
   * burst of expiries from taking a small host's CPUs and disk from its requests, and one slow
   * pause from holding up every other expiry (the old reaper ran them all one after another).
   */
  static final int CONCURRENCY = 4;
  private static final Logger log = LoggerFactory.getLogger(TtlReaper.class);

  /** Expires one sandbox: re-checks, decides and acts under its lifecycle lock. */
  interface Expiry {
    void expire(String sandboxId, Instant now) throws InterruptedException;
  }

  private final Supplier<List<SandboxRow>> rows;
  private final Expiry expiry;
  private final Semaphore slots = new Semaphore(CONCURRENCY);
  private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

  TtlReaper(Supplier<List<SandboxRow>> rows, Expiry expiry) {
    this.rows = rows;
    this.expiry = expiry;
  }

  /** Starts an expiry for every due sandbox that has none running; returns their threads (a caller may join them). */
  List<Thread> pass(Instant now) {
    List<Thread> started = new ArrayList<>();
    for (SandboxRow r : rows.get()) {
      if (!due(r, now) || !inFlight.add(r.id())) continue;
      started.add(Thread.ofVirtual().name("ttl-" + r.id()).start(() -> run(r.id(), now)));
    }
    return started;
  }

  static boolean due(SandboxRow r, Instant now) {
    return r.expiryDue(now);
  }

  private void run(String id, Instant now) {
    try {
      slots.acquire();
      try {
        expiry.expire(id, now);
      } finally {
        slots.release();
      }
    } catch (KilnException e) {
      log.warn("reaping sandbox={} failed: {}", id, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      log.error("reaping sandbox={} failed on a bug", id, e);
    } finally {
      inFlight.remove(id);
    }
  }
}
