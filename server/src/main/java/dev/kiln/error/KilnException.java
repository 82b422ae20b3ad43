package dev.kiln.error;

/** A failure the client should see, with a stable code and a message saying what was expected and what came. */
public class KilnException extends RuntimeException {
  private final ErrorCode code;

  public KilnException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public KilnException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
