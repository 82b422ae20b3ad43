package dev.kiln.vmm;

import java.time.Duration;

/**
 * How a live migration may run: the longest the guest may stand still for the last pass (QEMU
 * copies RAM while the guest runs until what is left fits in it), the link's rate cap, and when to
 * give up (the guest runs on where it was).
 */
public record MigrationSettings(Duration maxDowntime, long maxBytesPerSecond, Duration timeout) {
  public MigrationSettings {
    if (maxDowntime.toMillis() < 1 || maxDowntime.toMillis() > 60_000) throw new IllegalArgumentException("maxDowntime must be 1 ms..60 s");
    if (maxBytesPerSecond < 1 << 20) throw new IllegalArgumentException("maxBytesPerSecond must be at least 1 MiB/s");
    if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("timeout must be positive");
  }
}
