package dev.kiln.sdk;

/** A finished command: its exit code (-1 if a signal ended it, then {@code signal} is set), and its output. */
public record CommandResult(int exitCode, int signal, String stdout, String stderr) {
  public boolean succeeded() {
    return exitCode == 0;
  }
}
