package dev.kiln.sandbox;

/**
 * A test seam: lifecycle code calls it at the named points, so a test can stop one operation
 * there and run another against the same sandbox, deterministically. Production uses
 * {@link #NONE}; nothing but tests installs another.
 */
interface LifecycleSeam {
  enum Point {
    /** An operation found the sandbox's entry and is about to wait for its lock. */
    LOCKING,
    /** It holds the lock and has not looked at the sandbox yet. */
    LOCKED,
    /** It holds the lock, has re-read the sandbox (it still exists) and is about to act. */
    ACTING,
    /** A transition (create, resume, start, restore) has its new VM and has not recorded it yet. */
    VM_STARTED,
    /** The watcher of a VM's exit runs, on the thread that will handle the failure. */
    VM_EXITED,
    /** A failure (the VM exited, the agent channel broke) holds the lock and is about to tear the VM down. */
    FAILING,
    /** A checkpoint or fork has moved the VM's writes to a new disk layer and not recorded it yet. */
    DISK_FROZEN,
    /** The TTL reaper has paused an expired sandbox and is about to finish with it. */
    TTL_PAUSED
  }

  /** Called on the operation's own thread; may block it (a test's latch). */
  void at(Point point, String sandboxId);

  LifecycleSeam NONE = (point, sandboxId) -> {};
}
