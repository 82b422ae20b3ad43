package dev.kiln.sandbox;

/**
 * Sandbox states and their transitions:
 *
 * <pre>
 *   CREATING ──▶ RUNNING ──▶ STOPPING ──▶ (row deleted; a tombstone: DELETED or EXPIRED, for a while)
 *      │          │  ▲
 *      │    pause ▼  │ resume (explicit, or any exec/files request)
 *      │         PAUSED ──▶ STOPPING
 *      │          │  ▲
 *      │     stop ▼  │ start (boots from its disk: files kept, processes not)
 *      │         STOPPED ──▶ STOPPING      (stop also from RUNNING)
 *      │            │
 *      └────────────┴──▶ ERROR ──▶ STOPPING   (VM died, agent broke, boot failed)
 * </pre>
 *
 * Which operation may run in which state, and where it leads, is {@link Transitions}' table: the
 * one place every 409 about a sandbox's state comes from. Once the row is gone, every request for
 * the id answers 404 SANDBOX_DELETED or SANDBOX_EXPIRED while its tombstone is kept ({@link Tombstones}).
 */
public enum SandboxState {
  CREATING, RUNNING, PAUSED, STOPPED, STOPPING, ERROR;

  public String wire() {
    return name().toLowerCase();
  }
}
