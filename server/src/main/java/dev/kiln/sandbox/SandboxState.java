package dev.kiln.sandbox;

/**
 * Sandbox states and their transitions:
 *
 * <pre>
 *   CREATING ──▶ RUNNING ──▶ STOPPING ──▶ (row deleted)
 *      │          │  ▲
 *      │    pause ▼  │ resume (explicit, or any exec/files request)
 *      │         PAUSED ──▶ STOPPING
 *      │            │
 *      └────────────┴──▶ ERROR ──▶ STOPPING   (VM died, agent broke, boot failed)
 * </pre>
 *
 * Exec and files need RUNNING (a PAUSED sandbox is resumed for them). Pause needs RUNNING, resume
 * PAUSED (or RUNNING: a no-op); a checkpoint, and a fork without a named checkpoint, need RUNNING;
 * restoring a checkpoint in place takes RUNNING, PAUSED or ERROR to RUNNING. Anything else is 409
 * ILLEGAL_TRANSITION. Delete is accepted in every state and is idempotent.
 */
public enum SandboxState {
  CREATING, RUNNING, PAUSED, STOPPING, ERROR;

  public String wire() {
    return name().toLowerCase();
  }
}
