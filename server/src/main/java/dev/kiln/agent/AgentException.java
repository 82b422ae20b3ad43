package dev.kiln.agent;

/**
 * An operation failed inside the guest ({@code errno} > 0, with the guest's message) or the channel
 * to the guest is gone ({@code errno} = 0).
 */
public final class AgentException extends Exception {
  public static final int ENOENT = 2;
  public static final int ENOEXEC = 8;
  public static final int EACCES = 13;
  public static final int EEXIST = 17;
  public static final int ENOTDIR = 20;
  public static final int EISDIR = 21;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;
  public static final int ENOTEMPTY = 39;
  public static final int EOVERFLOW = 75;

  private final int errno;

  public AgentException(int errno, String message) {
    super(message);
    this.errno = errno;
  }

  public AgentException(String message, Throwable cause) {
    super(message, cause);
    this.errno = 0;
  }

  public int errno() {
    return errno;
  }

  /** True when the guest answered with an error, false when the channel itself failed. */
  public boolean fromGuest() {
    return errno > 0;
  }
}
