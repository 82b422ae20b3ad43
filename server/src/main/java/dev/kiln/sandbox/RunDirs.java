package dev.kiln.sandbox;

import java.nio.file.Path;

/**
 * Where each sandbox's run directory is: its VM's sockets, pid file and console log, and while it
 * is paused its saved state. Pool and snapshot VMs have run directories here too, without rows.
 */
record RunDirs(Path root) {
  /** A Unix socket path must fit sockaddr_un.sun_path (108 bytes, NUL included). */
  private static final int MAX_SOCKET_PATH = 107;

  Path of(String sandboxId) {
    return root.resolve(sandboxId);
  }

  /** A paused sandbox's saved VM state. */
  Path pausedState(String sandboxId) {
    return of(sandboxId).resolve("paused.state");
  }

  /**
   * A loaded pause's state, renamed out of the way at once and deleted in the background: freeing
   * the extents of a state of tens of MiB took 20-25 ms, which a resume need not wait for. A daemon
   * that stops first leaves it for the sandbox's deletion, which takes its whole run directory.
   */
  Path spentState(String sandboxId) {
    return of(sandboxId).resolve("paused.state.spent");
  }

  /** Its checksum, checked before a resume loads it. */
  Path pausedStateSha256(String sandboxId) {
    return of(sandboxId).resolve("paused.state.sha256");
  }

  /** Whether the sockets of a VM in this run directory fit a Unix socket address. */
  boolean socketsFit(String sandboxId) {
    return of(sandboxId).resolve("agent.sock").toString().length() <= MAX_SOCKET_PATH;
  }
}
