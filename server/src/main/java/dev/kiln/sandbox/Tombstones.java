package dev.kiln.sandbox;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.store.TombstoneRepository;
import dev.kiln.store.TombstoneRow;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;

/**
 * What is left of a sandbox once it is gone: a row saying when and why (deleted by a request, or
 * expired: its TTL deleted it), and its events, for {@code retention} (the daemon's
 * tombstoneRetentionSeconds). Any request for the id is then answered 404 SANDBOX_DELETED or
 * SANDBOX_EXPIRED with those facts instead of a bare "no sandbox", and its events stay readable.
 * The reaper purges tombstones when their time is up. A sandbox that never became the client's
 * (a create that failed, the forks of a failed fork) leaves none.
 */
final class Tombstones {
  /** Why a sandbox went. */
  enum Reason { DELETED, EXPIRED }

  private final TombstoneRepository rows;
  private final SandboxRepository sandboxes;
  private final Duration retention;

  Tombstones(TombstoneRepository rows, SandboxRepository sandboxes, Duration retention) {
    this.rows = rows;
    this.sandboxes = sandboxes;
    this.retention = retention;
  }

  /**
   * Removes the sandbox's row and leaves its tombstone, with its last event (with no retention:
   * removes its events too), in one transaction.
   */
  void bury(SandboxRow r, Reason reason, Instant now) {
    if (retention.isZero()) {
      sandboxes.delete(r.id());
      return;
    }
    rows.bury(new TombstoneRow(r.id(), r.template(), reason.name(), r.createdAt(), now, reason == Reason.EXPIRED ? r.expiresAt() : Optional.empty(),
        r.timeoutSeconds(), now.plus(retention)), new dev.kiln.store.EventRepository.Note(reason.name().toLowerCase(java.util.Locale.ROOT), lastWords(r, reason)));
  }

  /** The event that ends the sandbox's log. */
  static String lastWords(SandboxRow r, Reason reason) {
    return switch (reason) {
      case DELETED -> "deleted by a request";
      case EXPIRED -> "expired: its TTL of " + r.timeoutSeconds() + " s ran out at " + r.expiresAt().map(Tombstones::seconds).orElse("its deadline")
          + "; deleted";
    };
  }

  /** The 404 for an id that has a tombstone: when, why, and how long its events stay. */
  Optional<KilnException> gone(String id) {
    return rows.find(id).map(t -> {
      String events = "; its events stay readable until " + seconds(t.purgeAt()) + " (GET /v1/sandboxes/" + id + "/events)";
      return switch (Reason.valueOf(t.reason())) {
        case DELETED -> new KilnException(ErrorCode.SANDBOX_DELETED, "sandbox " + id + " was deleted at " + seconds(t.endedAt()) + " by a request" + events);
        case EXPIRED -> new KilnException(ErrorCode.SANDBOX_EXPIRED, "sandbox " + id + " expired at " + t.expiredAt().map(Tombstones::seconds).orElse("?")
            + " (TTL " + t.timeoutSeconds() + " s) and was deleted" + events);
      };
    });
  }

  boolean exists(String id) {
    return rows.find(id).isPresent();
  }

  /** Purges the tombstones (and their events) whose retention ended by {@code now}. */
  int purge(Instant now) {
    return rows.purge(now);
  }

  private static String seconds(Instant i) {
    return i.truncatedTo(ChronoUnit.SECONDS).toString();
  }
}
