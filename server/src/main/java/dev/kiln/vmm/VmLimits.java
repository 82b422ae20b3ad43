package dev.kiln.vmm;

/**
 * What one VM's QEMU may use on the host: CPU time worth its vCPUs plus one core for QEMU's own
 * threads (and a share when the host is contended), its guest RAM (twice for a clone of a template
 * snapshot) plus a bounded overhead, a number of threads. Block I/O is capped by {@link Cgroups}
 * where the host can.
 */
public record VmLimits(int vcpus, long memoryBytes, int pids, long ioBytesPerSecond) {
  /**
   * CPU time per period, in cores: the vCPUs, and one more for QEMU's main loop and I/O, which work
   * beside a busy vCPU (a restored VM's first command: vCPU and virtio at once). With the vCPUs'
   * worth alone, a 1-vCPU VM was throttled in half the periods of its first second and a restore to
   * first exec took 16 ms longer than without limits. The guest's own computing is still bounded by
   * its vCPU threads, one core each.
   */
  public int cpuCores() {
    return vcpus + 1;
  }

  /** Each VM's reads and writes on the data directory's disk: enough for any one guest, not all of the disk for one. */
  static final long IO_BYTES_PER_SECOND = 256L << 20;

  /** What QEMU itself may use beyond the guest's RAM: devices, its heap, and under TCG its translation cache (bounded by -accel tcg,tb-size). */
  static long overheadBytes(Accelerator accel) {
    return (accel == Accelerator.TCG ? 192L + QemuCommandLine.TCG_CACHE_MIB : 192L) << 20;
  }

  /** QEMU's threads: one per vCPU, its main loop, RCU, and an I/O worker pool that grows to 64. */
  static final int PIDS = 256;

  /** The limits a VM of this spec gets. */
  public static VmLimits of(VmSpec spec) {
    return of(spec, spec.totalMemoryMib());
  }

  /** The limits of the VM once it has {@code memoryMib} of RAM (before a DIMM is plugged). */
  static VmLimits of(VmSpec spec, long memoryMib) {
    return new VmLimits(spec.vcpus(), (memoryMib << 20) + snapshotPagesBytes(spec) + overheadBytes(spec.accelerator()), PIDS, IO_BYTES_PER_SECOND);
  }

  /**
   * A clone's RAM is its template snapshot's sealed memory (a memfd, {@link SealedMemory}) mapped
   * private, which holds only the pages that were not zero. A page the guest touches where the
   * memfd has none is first made in the memfd (shmem: it cannot be reclaimed, and it is charged to
   * the VM that faulted it) and then copied for the VM: a guest that uses all its RAM is charged
   * for it twice. A VM limited to its RAM once was killed by the host for filling its page cache.
   * What the memfd can gain is bounded by its size, once per snapshot, whichever clones pay for it.
   */
  private static long snapshotPagesBytes(VmSpec spec) {
    return spec.memory().filter(m -> m.mode() == GuestMemory.Mode.CLONE).map(m -> spec.memoryMib() << 20).orElse(0L);
  }
}
