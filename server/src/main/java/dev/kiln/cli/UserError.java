package dev.kiln.cli;

/** Something the user can fix, said in their terms; the CLI prints the message and exits with the code. */
final class UserError extends RuntimeException {
  private final int exitCode;

  UserError(String message, int exitCode) {
    super(message, null, false, false);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
