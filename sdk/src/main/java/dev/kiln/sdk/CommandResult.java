package dev.kiln.sdk;

/**
 * A finished command: its exit code (-1 if a signal ended it, then {@code signal} is set), whether
 * its command timeout killed it, and its output (empty when it went only to callbacks, see
 * {@link Commands#stream}).
 */
public record CommandResult(int exitCode, int signal, boolean timedOut, String stdout, String stderr) {
  public CommandResult(int exitCode, int signal, String stdout, String stderr) {
    this(exitCode, signal, false, stdout, stderr);
  }

  public boolean succeeded() {
    return exitCode == 0;
  }
}
