package dev.kiln.store;

/** The database failed; this is the daemon's fault or the disk's, never the client's. */
public final class StoreException extends RuntimeException {
  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
