package dev.kiln.sandbox;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.QuotaExceededException;

/**
 * A key's limits as the sandbox service meets them: the store counts them, in the transaction that
 * would pass one (docs/adr/0022); this says no in the API's terms, before anything was made.
 */
final class OwnerQuotas {
  private OwnerQuotas() {}

  /** Runs a write that counts against the owner's key, turning its refusal into 429 QUOTA_EXCEEDED. */
  static void reserve(Runnable write) {
    try {
      write.run();
    } catch (QuotaExceededException e) {
      throw refusal(e);
    }
  }

  static KilnException refusal(QuotaExceededException e) {
    return new KilnException(ErrorCode.QUOTA_EXCEEDED, e.getMessage() + " (sandboxes count while paused or stopped too: delete one to make room)", e);
  }
}
