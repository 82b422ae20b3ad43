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
 * Exec and files need RUNNING (a PAUSED sandbox is resumed for them). Pause needs RUNNING, resume
 * PAUSED (or RUNNING: a no-op); stop needs RUNNING or PAUSED (STOPPED: a no-op), start STOPPED
 * (RUNNING: a no-op); a checkpoint, and a fork without a named checkpoint, need RUNNING; restoring
 * a checkpoint in place takes RUNNING, PAUSED, STOPPED or ERROR to RUNNING. Anything else is 409
 * ILLEGAL_TRANSITION ("sandbox sb-… is paused; checkpoint needs running"). Delete is accepted in
 * every state; once the row is gone, every request for the id answers 404 SANDBOX_DELETED or
 * SANDBOX_EXPIRED while its tombstone is kept ({@link Tombstones}).
 */
public enum SandboxState {
  CREATING, RUNNING, PAUSED, STOPPED, STOPPING, ERROR;

  public String wire() {
    return name().toLowerCase();
  }
}
