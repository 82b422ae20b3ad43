package dev.kiln.vmm;

/**
 * What a live migration cost, as the source QEMU counted it: its whole time, how long the guest
 * stood still until the source had sent its last bytes, the bytes of the stream, the guest's RAM,
 * and the passes over dirty pages it took to converge. {@code stoppedAtNanos}: when the guest
 * stopped for the last pass, on this JVM's {@link System#nanoTime} clock, so that the caller can
 * count the guest's whole downtime up to the moment it runs again on the other side.
 */
public record MigrationStats(long totalMillis, long downtimeMillis, long bytesSent, long ramBytes, long passes, long stoppedAtNanos) {
  /** How long the guest has stood still, from its stop to {@code nowNanos} (when it ran again elsewhere). */
  public double downtimeUntil(long nowNanos) {
    return (nowNanos - stoppedAtNanos) / 1e6;
  }
}
