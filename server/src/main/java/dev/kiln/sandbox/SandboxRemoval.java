package dev.kiln.sandbox;

import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRepository.ExpiryChange;
import dev.kiln.store.SandboxRepository.StateChange;
import dev.kiln.store.SandboxRow;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How sandboxes end: deleted by their owner, discarded when the client never got them (a failed
 * create or fork), or expired by their TTL (deleted, or paused when they asked for that). A
 * deleted sandbox leaves a tombstone for a while; its registry entry goes only once its teardown
 * is over, so an operation that waited for its lock meanwhile answers 404.
 */
final class SandboxRemoval {
  private static final Logger log = LoggerFactory.getLogger(SandboxRemoval.class);

  private final SandboxLocks locks;
  private final SandboxRows rows;
  private final SandboxRepository repo;
  private final SandboxRegistry live;
  private final SandboxTeardown teardown;
  private final CheckpointFiles checkpointFiles;
  private final SandboxNetworks networks;
  private final Tombstones tombstones;
  private final UnusedDisks unused;
  private final SandboxListeners listeners;
  private final SandboxLifecycle lifecycle;
  private final Seams seam;
  private final TtlReaper ttl;

  SandboxRemoval(SandboxLocks locks, SandboxRows rows, SandboxRepository repo, SandboxRegistry live, SandboxTeardown teardown,
      CheckpointFiles checkpointFiles, SandboxNetworks networks, Tombstones tombstones, UnusedDisks unused, SandboxListeners listeners,
      SandboxLifecycle lifecycle, Seams seam) {
    this.locks = locks;
    this.rows = rows;
    this.repo = repo;
    this.live = live;
    this.teardown = teardown;
    this.checkpointFiles = checkpointFiles;
    this.networks = networks;
    this.tombstones = tombstones;
    this.unused = unused;
    this.listeners = listeners;
    this.lifecycle = lifecycle;
    this.seam = seam;
    this.ttl = new TtlReaper(rows::mine, this::expire);
  }

  /**
   * Deletes a sandbox in any state, for its owner: its tombstone remembers when and that it was
   * deleted. Idempotent while the row exists; afterwards the id answers 404 SANDBOX_DELETED.
   */
  void delete(String id) {
    remove(id, Optional.of(Tombstones.Reason.DELETED));
  }

  /** Deletes a sandbox the client never got (its create or fork failed): nothing is remembered. */
  void discard(String id) {
    remove(id, Optional.empty());
  }

  private void remove(String id, Optional<Tombstones.Reason> reason) {
    try {
      locks.underLifecycleLock(id, (sb, r) -> {
        removeLocked(sb, r, reason);
        return null;
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // a delete is not interruptible: it ran to its end
    }
  }

  /**
   * Tears the sandbox down and removes its row (leaving a tombstone when {@code reason} is
   * present) and then its registry entry; the caller holds its lock.
   */
  private void removeLocked(LiveSandbox sb, SandboxRow r, Optional<Tombstones.Reason> reason) {
    String id = r.id();
    SandboxState to = Transitions.check(r, Operation.DELETE).orElseThrow();
    // Stopping first: a crash from here on is finished by the next daemon's recovery.
    rows.commit(id, new StateChange(r.state(), to.name(), r.vmJson(), r.pid(), r.error(), ExpiryChange.KEEP, Optional.empty()));
    teardown.teardown(sb);
    checkpointFiles.removeOf(id);
    networks.release(id);
    if (reason.isPresent()) {
      tombstones.bury(r, reason.get(), Instant.now()); // its checkpoints and network row go with the row (ON DELETE CASCADE)
    } else {
      repo.delete(id); // and its events
    }
    live.removeDeleted(sb);
    unused.collect();
    listeners.deleted(id);
    log.info("sandbox deleted sandbox={} reason={}", id, reason.map(Enum::name).orElse("DISCARDED"));
  }

  /**
   * Deletes (or pauses, by its onTimeout) every sandbox whose TTL has passed, leaving an EXPIRED
   * tombstone, and purges the tombstones whose retention is over; returns once this pass's
   * expiries are done (for tests and tools: the daemon's reaper uses {@link #reapExpiredInBackground}).
   */
  void reapExpired(Instant now) throws InterruptedException {
    for (Thread t : ttl.pass(now)) t.join();
    purgeTombstones(now);
  }

  /** One reaper pass, every second: each expiry runs on its own virtual thread ({@link TtlReaper}), and this returns at once. */
  void reapExpiredInBackground(Instant now) {
    ttl.pass(now);
    purgeTombstones(now);
  }

  void purgeTombstones(Instant now) {
    int purged = tombstones.purge(now);
    if (purged > 0) log.info("sandbox tombstones purged count={}", purged);
  }

  /**
   * One expiry, decided and done inside the sandbox's locked transition, on its row as it is then:
   * a TTL changed, a resume or a delete that ran first are seen, and a TTL pause clears the
   * expiry in the same write as its state (a resume that follows starts the TTL again).
   */
  void expire(String id, Instant now) throws InterruptedException {
    boolean paused = locks.underLifecycleLock(id, (sb, r) -> {
      if (!TtlReaper.due(r, now)) return false; // extended, resumed or paused meanwhile
      boolean pause = CreateSandbox.OnTimeout.PAUSE.name().equals(r.onTimeout()) && SandboxRows.stateOf(r) == SandboxState.RUNNING;
      log.info("sandbox ttl expired sandbox={} expired_at={} action={}", id, r.expiresAt().orElseThrow(), pause ? "pause" : "delete");
      if (!pause) {
        removeLocked(sb, r, Optional.of(Tombstones.Reason.EXPIRED));
        return false;
      }
      // A paused sandbox costs no RAM or CPU; its TTL starts again when it is resumed.
      lifecycle.pauseLocked(sb, r, ExpiryChange.to(Optional.empty()), "paused");
      return true;
    });
    if (paused) seam.at(LifecycleSeam.Point.TTL_PAUSED, id);
  }

  /** Stops every VM and removes every sandbox: for tests and benchmarks that own the data dir. */
  void deleteAll() {
    for (SandboxRow r : rows.mine()) delete(r.id());
  }
}
