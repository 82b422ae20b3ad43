package dev.kiln.vmm;

/** A VM could not be started, reached or stopped; the message names the VM and what failed. */
public final class VmmException extends Exception {
  public VmmException(String message) {
    super(message);
  }

  public VmmException(String message, Throwable cause) {
    super(message, cause);
  }
}
