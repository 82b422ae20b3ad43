package dev.kiln.vmm;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Everything needed to start one VM. {@code runDir} holds its sockets, pid file and console log
 * and belongs to the VM alone; {@code rootDisk} is a qcow2 overlay the VM may write. {@code vcpus}
 * is the current vCPU count (hot-plugged ones included), {@code memoryMib} the boot RAM (DIMMs
 * hot-plugged since are in {@code hotplug}; {@link #totalMemoryMib} is the sum). A VM restored or
 * adopted must be described by the spec it had last: {@link RunningVm#spec} after a hot-plug.
 * {@code legacyPit}: a microvm of the first device layout, which kept the legacy PIT timer
 * (see {@link #LAYOUT}); a state saved from one loads only into one.
 */
public record VmSpec(String name, Path runDir, Path kernel, Path initrd, String kernelCmdline, Path rootDisk,
    int vcpus, long memoryMib, Accelerator accelerator, Optional<GuestMemory> memory, Optional<Nic> nic,
    Machine machine, Optional<Hotplug> hotplug, boolean legacyPit) {
  /**
   * The device layout new VMs get. 1: microvm kept the legacy PIT. 2: a microvm whose guest is
   * given the TSC rate has none: the PIT's periodic timer woke an idle TCG guest's QEMU tens of
   * times a second, about 40% of its idle CPU, and such a guest does not calibrate against it.
   * Snapshots record it: one of another layout is taken again rather than restored.
   */
  public static final int LAYOUT = 2;

  /** A microvm with ordinary anonymous RAM. */
  public VmSpec(String name, Path runDir, Path kernel, Path initrd, String kernelCmdline, Path rootDisk, int vcpus, long memoryMib,
      Accelerator accelerator) {
    this(name, runDir, kernel, initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator, Optional.empty(), Optional.empty());
  }

  /** A microvm, which has no room to hot-plug. */
  public VmSpec(String name, Path runDir, Path kernel, Path initrd, String kernelCmdline, Path rootDisk, int vcpus, long memoryMib,
      Accelerator accelerator, Optional<GuestMemory> memory, Optional<Nic> nic) {
    this(name, runDir, kernel, initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator, memory, nic, Machine.MICROVM, Optional.empty(), false);
  }

  /**
   * The VM's network device: a tap inside a network namespace, which QEMU is started in. A restored
   * VM must have the NIC its snapshot had (same MAC); the namespace may differ.
   */
  public record Nic(String netns, String tap, String mac) {
    public Nic {
      if (!netns.matches("[a-z0-9-]{1,32}") || !tap.matches("[a-z0-9]{1,15}") || !mac.matches("([0-9a-f]{2}:){5}[0-9a-f]{2}")) {
        throw new IllegalArgumentException("bad nic " + netns + " " + tap + " " + mac);
      }
    }
  }

  public VmSpec {
    if (vcpus < 1 || vcpus > 64) throw new IllegalArgumentException("vcpus must be 1..64, got " + vcpus);
    if (memoryMib < 64 || memoryMib > 1 << 20) throw new IllegalArgumentException("memoryMib must be 64..1048576, got " + memoryMib);
    if (!name.matches("[a-zA-Z0-9-]{1,64}")) throw new IllegalArgumentException("vm name must be 1-64 of [a-zA-Z0-9-], got '" + name + "'");
    if (hotplug.isPresent()) {
      Hotplug h = hotplug.get();
      if (machine != Machine.Q35) throw new IllegalArgumentException(machine.wire() + " machines cannot hot-plug CPUs or memory");
      if (h.maxVcpus() < vcpus) throw new IllegalArgumentException("maxVcpus " + h.maxVcpus() + " is below vcpus " + vcpus);
      if (h.maxMemoryMib() < memoryMib + h.pluggedMib()) {
        throw new IllegalArgumentException("maxMemoryMib " + h.maxMemoryMib() + " is below the VM's " + (memoryMib + h.pluggedMib()) + " MiB");
      }
    }
  }

  /** Boot RAM plus every hot-plugged DIMM: what the guest has. */
  public long totalMemoryMib() {
    return memoryMib + hotplug.map(Hotplug::pluggedMib).orElse(0L);
  }

  public Path agentSocket() {
    return runDir.resolve("agent.sock");
  }

  public Path qmpSocket() {
    return runDir.resolve("qmp.sock");
  }

  public Path pidFile() {
    return runDir.resolve("qemu.pid");
  }

  /** What the guest printed on its serial console, kept by the daemon (ConsoleLog). */
  public Path consoleLog() {
    return runDir.resolve("console.log");
  }

  /** Where QEMU offers the serial console to the daemon. */
  public Path consoleSocket() {
    return runDir.resolve("tty.sock");
  }

  /** Where QEMU sends (save) or receives (restore) a migration stream. */
  public Path migrationSocket() {
    return runDir.resolve("migrate.sock");
  }

  public VmSpec withMemory(GuestMemory m) {
    return new VmSpec(name, runDir, kernel, initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator, Optional.of(m), nic, machine, hotplug, legacyPit);
  }

  /**
   * The same VM loading a state on another host: RAM that came from a snapshot file there (which
   * this host does not have at that path) comes whole in the stream, under the same backend name.
   */
  public VmSpec withStreamedMemory() {
    return memory.isEmpty() ? this : withMemory(GuestMemory.streamed());
  }

  /** The same VM with ordinary RAM: how a VM whose saved state will not load boots from its disk instead. */
  public VmSpec withoutMemory() {
    return new VmSpec(name, runDir, kernel, initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator, Optional.empty(), nic, machine, hotplug, legacyPit);
  }

  public VmSpec withRootDisk(Path disk) {
    return new VmSpec(name, runDir, kernel, initrd, kernelCmdline, disk, vcpus, memoryMib, accelerator, memory, nic, machine, hotplug, legacyPit);
  }

  /** The same machine under another name and run directory: a fork of this VM. */
  public VmSpec renamed(String newName, Path newRunDir) {
    return new VmSpec(newName, newRunDir, kernel, initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator, memory, nic, machine, hotplug, legacyPit);
  }

  /** The same machine attached to another namespace (a fork has its own), or to none. */
  public VmSpec withNic(Optional<Nic> n) {
    return new VmSpec(name, runDir, kernel, initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator, memory, n, machine, hotplug, legacyPit);
  }

  /** The same VM on another machine, with room to hot-plug up to {@code room} (q35 only), or none. */
  public VmSpec onMachine(Machine m, Optional<Hotplug> room) {
    return new VmSpec(name, runDir, kernel, initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator, memory, nic, m, room, legacyPit);
  }

  /** What the VM has become after a hot-plug: restores and adoptions need it. */
  VmSpec grown(int newVcpus, Hotplug h) {
    return new VmSpec(name, runDir, kernel, initrd, kernelCmdline, rootDisk, newVcpus, memoryMib, accelerator, memory, nic, machine, Optional.of(h), legacyPit);
  }

  /** QEMU's own stdout and stderr. */
  public Path vmmLog() {
    return runDir.resolve("qemu.log");
  }
}
