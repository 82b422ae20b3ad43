package dev.kiln.host;

import java.util.List;

/** An external tool failed: carries its argv, exit code (-1 when it never ran to an exit) and stderr. */
public final class CommandException extends RuntimeException {
  private final List<String> argv;
  private final int exitCode;

  public CommandException(List<String> argv, int exitCode, String stderr) {
    super(argv.getFirst() + " exited with " + exitCode + ": " + CommandRunner.quote(stderr) + " (argv " + argv + ")");
    this.argv = List.copyOf(argv);
    this.exitCode = exitCode;
  }

  public List<String> argv() {
    return argv;
  }

  public int exitCode() {
    return exitCode;
  }
}
