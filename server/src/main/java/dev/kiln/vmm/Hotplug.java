package dev.kiln.vmm;

import java.util.List;

/**
 * A q35 VM's room to grow, and what it has grown by. QEMU reserves the room at start
 * ({@code -smp N,maxcpus=}, {@code -m SIZE,slots=,maxmem=}); each memory hot-plug adds one DIMM, so
 * {@code dimmsMib} lists them in plug order: a restore must start QEMU with the same DIMMs (a
 * migration stream only loads into an identical RAM layout). CPUs need no list: hot-plugged ones
 * are started as ordinary ones on restore ({@code -smp} of the current count).
 *
 * @param maxVcpus     the most vCPUs the VM can have
 * @param maxMemoryMib the most RAM the VM can have, boot RAM and DIMMs together
 * @param dimmsMib     the sizes of the DIMMs plugged so far, in order
 */
public record Hotplug(int maxVcpus, long maxMemoryMib, List<Long> dimmsMib) {
  /** Linux onlines hot-plugged memory in blocks of 128 MiB on x86-64: a DIMM is a whole number of them. */
  public static final long DIMM_ALIGN_MIB = 128;
  /** DIMM slots QEMU reserves; each memory hot-plug takes one. */
  public static final int SLOTS = 8;

  public Hotplug {
    dimmsMib = List.copyOf(dimmsMib);
    if (maxVcpus < 1 || maxVcpus > 64) throw new IllegalArgumentException("maxVcpus must be 1..64, got " + maxVcpus);
    if (dimmsMib.size() > SLOTS) throw new IllegalArgumentException("at most " + SLOTS + " DIMMs, got " + dimmsMib.size());
    for (long d : dimmsMib) {
      if (d < DIMM_ALIGN_MIB || d % DIMM_ALIGN_MIB != 0) throw new IllegalArgumentException("a DIMM is a multiple of " + DIMM_ALIGN_MIB + " MiB, got " + d);
    }
  }

  /** Room for this many vCPUs and this much memory, nothing plugged yet. */
  public static Hotplug upTo(int maxVcpus, long maxMemoryMib) {
    return new Hotplug(maxVcpus, maxMemoryMib, List.of());
  }

  long pluggedMib() {
    return dimmsMib.stream().mapToLong(Long::longValue).sum();
  }

  Hotplug plus(long dimmMib) {
    List<Long> d = new java.util.ArrayList<>(dimmsMib);
    d.add(dimmMib);
    return new Hotplug(maxVcpus, maxMemoryMib, d);
  }
}
