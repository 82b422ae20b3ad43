package dev.kiln.daemon;

/**
 * The daemon cannot start, for a reason the person starting it can fix: its data directory or
 * network prefix is another daemon's, an address it should listen on is taken. The message is
 * meant to be printed as it is: it names what was wrong in their terms (the flag or config key)
 * and what to do.
 */
public final class DaemonStartException extends Exception {
  public DaemonStartException(String message) {
    super(message);
  }

  public DaemonStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
