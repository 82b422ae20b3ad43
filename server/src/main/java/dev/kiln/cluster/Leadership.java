package dev.kiln.cluster;

import dev.kiln.store.LeaseRepository;
import dev.kiln.store.StoreException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which cluster jobs this daemon leads. A job runs on the daemon holding its lease (see
 * {@link LeaseRepository}); the holder renews it once a third of its time has passed, so the store
 * sees one write per job every few seconds rather than one per tick, and another daemon takes a
 * job over at most {@code ttl} after its leader stopped renewing (at once if it stopped cleanly and
 * released it). A store that cannot be reached means "not leading": a job never runs twice.
 */
public final class Leadership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Leadership.class);
  private final LeaseRepository leases;
  private final String holder;
  private final Duration ttl;
  /** Per job, until when this daemon surely holds it (its renewal time before then). */
  private final Map<String, Instant> heldUntil = new ConcurrentHashMap<>();

  public Leadership(LeaseRepository leases, String holder, Duration ttl) {
    this.leases = leases;
    this.holder = holder;
    this.ttl = ttl;
  }

  /** Whether this daemon leads {@code job} now; takes or renews its lease when due. */
  public boolean leads(String job) {
    Instant now = Instant.now();
    Instant until = heldUntil.get(job);
    if (until != null && now.isBefore(until.minus(ttl.multipliedBy(2).dividedBy(3)))) return true;
    boolean held;
    try {
      held = leases.acquire(job, holder, now, ttl);
    } catch (StoreException e) {
      held = false;
      log.warn("lease of job={} not renewed, so not leading it: {}", job, e.getMessage());
    }
    if (held) {
      if (heldUntil.put(job, now.plus(ttl)) == null) log.info("leading job={} holder={}", job, holder);
    } else if (heldUntil.remove(job) != null) {
      log.warn("no longer leading job={} holder={}", job, holder);
    }
    return held;
  }

  /** Gives up every lease held, so that another daemon takes the jobs over at once. */
  @Override
  public void close() {
    for (String job : heldUntil.keySet()) {
      try {
        leases.release(job, holder);
      } catch (StoreException e) {
        log.warn("lease of job={} not released (it expires by itself): {}", job, e.getMessage());
      }
    }
    heldUntil.clear();
  }
}
