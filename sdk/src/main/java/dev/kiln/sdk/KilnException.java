package dev.kiln.sdk;

/** The API refused or failed a request: its HTTP status, error code (e.g. ILLEGAL_TRANSITION) and message. */
public final class KilnException extends RuntimeException {
  private final int status;
  private final String code;

  public KilnException(int status, String code, String message) {
    super(code + ": " + message + " (HTTP " + status + ")");
    this.status = status;
    this.code = code;
  }

  public KilnException(String message, Throwable cause) {
    super(message, cause);
    this.status = 0;
    this.code = "CLIENT_ERROR";
  }

  /** The HTTP status, or 0 when the daemon could not be reached or answered nonsense. */
  public int status() {
    return status;
  }

  public String code() {
    return code;
  }
}
