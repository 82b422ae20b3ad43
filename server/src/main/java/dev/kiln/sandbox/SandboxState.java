package dev.kiln.sandbox;

/**
 * Sandbox states and their transitions:
 *
 * <pre>
 *   CREATING ──▶ RUNNING ──▶ STOPPING ──▶ (row deleted)
 *      │            │
 *      └────────────┴──▶ ERROR ──▶ STOPPING   (VM died, agent broke, boot failed)
 * </pre>
 *
 * Exec and files need RUNNING. Delete is accepted in every state and is idempotent.
 */
public enum SandboxState {
  CREATING, RUNNING, STOPPING, ERROR;

  public String wire() {
    return name().toLowerCase();
  }
}
