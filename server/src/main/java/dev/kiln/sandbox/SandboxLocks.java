package dev.kiln.sandbox;

import dev.kiln.store.SandboxRow;

/**
 * Runs an operation on one sandbox under its lifecycle lock, on its row as it is once the lock is
 * held. Two operations on one sandbox always take the same lock ({@link SandboxRegistry}); one that
 * waited while a delete ran gets the 404 of the deleted id.
 */
final class SandboxLocks {
  interface LockedTransition<T> {
    T apply(LiveSandbox sb, SandboxRow current) throws InterruptedException;
  }

  private final SandboxRegistry live;
  private final SandboxRows rows;
  private final Seams seam;

  SandboxLocks(SandboxRegistry live, SandboxRows rows, Seams seam) {
    this.live = live;
    this.rows = rows;
    this.seam = seam;
  }

  <T> T underLifecycleLock(String id, LockedTransition<T> t) throws InterruptedException {
    rows.row(id);
    // Empty: deleted while this waited (or before), the row's tombstone says so; or moved to
    // another node meanwhile (a live migration), which its row says (421, for the control plane).
    LiveSandbox sb = live.lock(new SandboxId(id), seam).orElseThrow(() -> rows.goneOrElsewhere(id));
    try {
      SandboxRow r = rows.row(id);
      seam.at(LifecycleSeam.Point.ACTING, id);
      return t.apply(sb, r);
    } finally {
      sb.lifecycle.unlock();
    }
  }
}
