package dev.kiln.sdk;

/**
 * The API refused or failed a request: its HTTP status, error code (e.g. ILLEGAL_TRANSITION) and
 * message. A failure on this side (the daemon unreachable, something else answering, the thread
 * interrupted) has status 0 and code CLIENT_ERROR.
 */
public final class KilnException extends RuntimeException {
  private final int status;
  private final String code;
  private final String detail;

  public KilnException(int status, String code, String message) {
    super(code + ": " + message + " (HTTP " + status + ")");
    this.status = status;
    this.code = code;
    this.detail = message;
  }

  public KilnException(String message, Throwable cause) {
    super(message, cause);
    this.status = 0;
    this.code = "CLIENT_ERROR";
    this.detail = message;
  }

  /** The HTTP status, or 0 when the daemon could not be reached or answered nonsense. */
  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  /** The message alone, without code and status: the API's own words, e.g. "no sandbox sb-… on this host". */
  public String detail() {
    return detail;
  }
}
