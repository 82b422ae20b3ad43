package dev.kiln.vmm;

import java.util.List;

/**
 * What the VMM on this host can do, as its backend finds it: the machines its QEMU offers, the
 * accelerator VMs run on, and per machine whether CPUs and memory can be hot-plugged.
 *
 * @param memorySnapshots a running VM's memory and devices can be saved and restored
 * @param fork            many VMs can be restored from one saved state, side by side
 */
public record VmmCapabilities(Accelerator accelerator, List<MachineSupport> machines, boolean memorySnapshots, boolean fork) {
  public VmmCapabilities {
    machines = List.copyOf(machines);
  }

  public record MachineSupport(Machine machine, boolean cpuHotplug, boolean memoryHotplug) {}

  /** Whether VMs of this machine can run here. */
  public boolean offers(Machine m) {
    return machines.stream().anyMatch(s -> s.machine() == m);
  }
}
