package dev.kiln.e2b;

/** An envd call refused with a Connect code Kiln's own errors do not name (already_exists for a directory that is there). */
final class ConnectException extends RuntimeException {
  final ConnectCode code;

  ConnectException(ConnectCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }
}
