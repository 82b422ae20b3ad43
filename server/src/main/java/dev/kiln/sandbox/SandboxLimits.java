package dev.kiln.sandbox;

import dev.kiln.config.KilnConfig;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;

/**
 * Per-sandbox bounds, from the host's size: a sandbox may not ask for more vCPUs than the host has
 * cores, nor more memory than the host has RAM. (Admission control across all sandboxes is not
 * done yet: guests only touch the RAM they use, so overcommit is allowed.)
 *
 * @param maxTimeoutSeconds a TTL above 30 days is almost surely a unit mistake (ms for s)
 */
public record SandboxLimits(KilnConfig.SandboxDefaults defaults, int maxVcpus, long maxMemoryMib, long maxTimeoutSeconds) {
  /** Below 128 MiB the Debian guest kernel and its page cache leave little room for user code. */
  public static final int MIN_MEMORY_MIB = 128;

  public static SandboxLimits forHost(KilnConfig.SandboxDefaults defaults, int hostCores, long hostMemoryBytes) {
    return new SandboxLimits(defaults, Math.max(1, hostCores), Math.max(MIN_MEMORY_MIB, hostMemoryBytes >> 20), 30L * 24 * 3600);
  }

  void check(int vcpus, long memoryMib, long timeoutSeconds) {
    if (vcpus < 1 || vcpus > maxVcpus) {
      throw new KilnException(ErrorCode.INSUFFICIENT_CAPACITY, "vcpus must be 1.." + maxVcpus + " on this host, got " + vcpus);
    }
    if (memoryMib < MIN_MEMORY_MIB || memoryMib > maxMemoryMib) {
      throw new KilnException(ErrorCode.INSUFFICIENT_CAPACITY, "memoryMib must be " + MIN_MEMORY_MIB + ".." + maxMemoryMib + " on this host, got " + memoryMib);
    }
    if (timeoutSeconds < 0 || timeoutSeconds > maxTimeoutSeconds) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "timeoutSeconds must be 0 (no limit) .." + maxTimeoutSeconds + ", got " + timeoutSeconds);
    }
  }
}
