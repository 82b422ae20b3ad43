package dev.kiln.vmm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which QEMU each VM's control group is for. A VM's name outlives its QEMUs (a pause and resume
 * starts a new one under the same name), so the group is removed only by the QEMU it was last
 * prepared for, and never between a new preparation and the new QEMU joining it.
 */
public final class VmCgroups {
  private final Cgroups cgroups;
  private final Map<String, Object> owners = new HashMap<>();

  public VmCgroups(Cgroups cgroups) {
    this.cgroups = cgroups;
  }

  /** The group name of the daemon with this data directory, so that daemons sharing a host keep theirs apart. */
  public static String scopeOf(Path dataDir) {
    return dev.kiln.host.Checksums.sha256Hex(dataDir.toAbsolutePath().normalize().toString()).substring(0, 12);
  }

  /** Makes the VM's group for the QEMU {@code owner} stands for; returns the files its pid goes in. */
  synchronized List<Path> prepare(String vm, VmLimits limits, Object owner) throws IOException {
    owners.put(vm, owner);
    return cgroups.prepare(vm, limits);
  }

  /** An adopted QEMU (a restarted daemon's) is its group's owner. */
  synchronized void adopt(String vm, Object owner) {
    owners.put(vm, owner);
  }

  /** The QEMU {@code owner} stands for exited: its group goes, unless a newer QEMU has it. */
  synchronized void release(String vm, Object owner) {
    if (owners.remove(vm, owner)) cgroups.remove(vm);
  }

  void update(String vm, VmLimits limits) throws IOException {
    cgroups.update(vm, limits);
  }

  Optional<Cgroups.Usage> usage(String vm) {
    return cgroups.usage(vm);
  }

  /** Empty groups a previous daemon's VMs left: at start, before any VM is launched. */
  public void sweep() {
    cgroups.sweep();
  }

  /** The daemon stops: its group goes if no VM is left running in it ({@link Cgroups#leave}). */
  public void leave() {
    cgroups.leave();
  }

  public int version() {
    return cgroups.version();
  }
}
