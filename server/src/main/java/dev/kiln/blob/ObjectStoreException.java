package dev.kiln.blob;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;

/**
 * An object store could not do what was asked. The message is for people as it is: it names the
 * store (bucket and endpoint, or directory), the key, and what went wrong in their terms, never a
 * class of the S3 client. {@link #problem()} is for code that decides what to do next.
 */
public final class ObjectStoreException extends KilnException {
  /** What went wrong, for callers that branch on it. */
  public enum Problem {
    /** No object under the key. */
    NOT_FOUND,
    /** The configured bucket does not exist. */
    BUCKET_MISSING,
    /** The store refused the credentials, or the bucket is not theirs. */
    ACCESS_DENIED,
    /** The endpoint cannot be reached, or a transfer was cut off. */
    UNREACHABLE,
    /** The content does not match the size or SHA-256 recorded at put, or has none recorded. */
    CORRUPT,
    /** The local file to put or the local place to write cannot be used. */
    LOCAL_FILE,
    /** Anything else the store answered. */
    FAILED
  }

  private final Problem problem;

  public ObjectStoreException(Problem problem, String message) {
    super(ErrorCode.OBJECT_STORE_FAILED, message);
    this.problem = problem;
  }

  public ObjectStoreException(Problem problem, String message, Throwable cause) {
    super(ErrorCode.OBJECT_STORE_FAILED, message, cause);
    this.problem = problem;
  }

  public Problem problem() {
    return problem;
  }
}
