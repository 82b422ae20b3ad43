package dev.kiln.sandbox;

import dev.kiln.config.KilnConfig;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.vmm.Hotplug;
import dev.kiln.vmm.Machine;
import java.util.Optional;

/**
 * A sandbox's size and TTL: what any request may ask for, and what this host can give. A value no
 * host could take (0 vCPUs, 64 MiB, a negative TTL) is invalid input, 400 INVALID_REQUEST; a valid
 * size beyond this host (more vCPUs than it has cores, more memory than it has RAM) is 422
 * INSUFFICIENT_CAPACITY. Both messages name the field, the value and the range. (Admission control
 * across all sandboxes is not done yet: guests only touch the RAM they use, so overcommit is allowed.)
 *
 * @param maxTimeoutSeconds a TTL above 30 days is almost surely a unit mistake (ms for s)
 */
public record SandboxLimits(KilnConfig.SandboxDefaults defaults, int maxVcpus, long maxMemoryMib, long maxTimeoutSeconds, dev.kiln.config.SandboxQuotas quotas) {
  /** Below 128 MiB the Debian guest kernel and its page cache leave little room for user code. */
  public static final int MIN_MEMORY_MIB = 128;
  /** The config's bounds for sandboxDefaults too: beyond any host Kiln runs on (microvm guests, one socket). */
  public static final int MAX_VCPUS = 64;
  /** 1 TiB, as the config's sandboxDefaults.memoryMib. */
  public static final long MAX_MEMORY_MIB = 1L << 20;

  public static SandboxLimits forHost(KilnConfig.SandboxDefaults defaults, dev.kiln.config.SandboxQuotas quotas, int hostCores, long hostMemoryBytes) {
    return new SandboxLimits(defaults, Math.max(1, Math.min(MAX_VCPUS, hostCores)), Math.max(MIN_MEMORY_MIB, Math.min(MAX_MEMORY_MIB, hostMemoryBytes >> 20)),
        30L * 24 * 3600, quotas);
  }

  void check(int vcpus, long memoryMib, long timeoutSeconds) {
    if (vcpus < 1 || vcpus > MAX_VCPUS) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'vcpus' must be 1.." + maxVcpus + " (this host has " + maxVcpus + " cores), got " + vcpus);
    }
    if (memoryMib < MIN_MEMORY_MIB || memoryMib > MAX_MEMORY_MIB) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'memoryMib' must be " + MIN_MEMORY_MIB + ".." + maxMemoryMib
          + " (MiB; a guest needs at least " + MIN_MEMORY_MIB + ", this host has " + maxMemoryMib + "), got " + memoryMib);
    }
    checkTimeout(timeoutSeconds);
    if (vcpus > maxVcpus) {
      throw new KilnException(ErrorCode.INSUFFICIENT_CAPACITY, "field 'vcpus' asks for " + vcpus + " vCPUs; this host has " + maxVcpus
          + " cores, so vcpus must be 1.." + maxVcpus + " here");
    }
    if (memoryMib > maxMemoryMib) {
      throw new KilnException(ErrorCode.INSUFFICIENT_CAPACITY, "field 'memoryMib' asks for " + memoryMib + " MiB; this host has " + maxMemoryMib
          + " MiB of RAM, so memoryMib must be " + MIN_MEMORY_MIB + ".." + maxMemoryMib + " here");
    }
  }

  void checkTimeout(long timeoutSeconds) {
    if (timeoutSeconds < 0 || timeoutSeconds > maxTimeoutSeconds) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'timeoutSeconds' must be 0 (no limit).." + maxTimeoutSeconds + " (30 days), got " + timeoutSeconds);
    }
  }

  /**
   * The room a new VM of this machine gets to grow into: a q35 VM up to the host's limits (a PATCH
   * hot-plugs within it; the room is address space, not RAM), a microvm none (it cannot hot-plug).
   */
  Optional<Hotplug> roomFor(Machine machine, long memoryMib) {
    return machine == Machine.Q35 ? Optional.of(Hotplug.upTo(maxVcpus, Math.max(memoryMib, maxMemoryMib))) : Optional.empty();
  }

  /** A new sandbox's vCPUs when the request names none: the template's default (a Dockerfile build's), else the daemon's. */
  public int vcpusFor(dev.kiln.image.Template t) {
    return t.runtime().vcpus() > 0 ? t.runtime().vcpus() : defaults.vcpus();
  }

  /** A new sandbox's memory when the request names none: the template's default, else the daemon's. */
  public int memoryMibFor(dev.kiln.image.Template t) {
    return t.runtime().memoryMib() > 0 ? t.runtime().memoryMib() : defaults.memoryMib();
  }
}
