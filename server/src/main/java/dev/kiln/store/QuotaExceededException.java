package dev.kiln.store;

/**
 * A key's limit would be passed by what its caller asked for; the transaction that found it wrote
 * nothing.
 *
 * @param what  what is limited, in words ("sandboxes", "vCPUs", "memory (MiB)", "templates")
 * @param limit the key's limit
 * @param held  how much the key holds now
 * @param asked how much more was asked for
 */
public final class QuotaExceededException extends RuntimeException {
  private final String what;
  private final long limit;
  private final long held;
  private final long asked;

  QuotaExceededException(String what, long limit, long held, long asked) {
    super("the key's limit of " + limit + " " + what + " would be passed: it holds " + held + " and asked for " + asked + " more");
    this.what = what;
    this.limit = limit;
    this.held = held;
    this.asked = asked;
  }

  public String what() {
    return what;
  }

  public long limit() {
    return limit;
  }

  public long held() {
    return held;
  }

  public long asked() {
    return asked;
  }
}
