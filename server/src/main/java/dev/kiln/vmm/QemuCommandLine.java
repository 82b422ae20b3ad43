package dev.kiln.vmm;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/** Builds the argv of one QEMU process, {@code microvm} or {@code q35}. Pure: no I/O, unit-tested. */
final class QemuCommandLine {
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * TCG's translated-code cache, which QEMU otherwise sizes at 1 GiB per VM: bounded so a VM's
   * memory limit can be its RAM plus a known overhead (VmLimits); a guest running more code than
   * fits gets the cache flushed and retranslated, not more host memory.
   */
  static final int TCG_CACHE_MIB = 256;

  private QemuCommandLine() {}

  /**
   * A file below the VM's top layer, handed to QEMU already open (read-only) as descriptor
   * {@code fd}: QEMU never opens it by name, and the VMM user needs no right to it.
   */
  record Backing(int fd, boolean qcow2) {}

  static List<String> build(String qemuBinary, VmSpec s) {
    return build(qemuBinary, s, false, true, List.of(), java.util.OptionalInt.empty());
  }

  /**
   * With {@code incoming}, QEMU waits for a migration stream (a snapshot) instead of booting.
   * {@code below} is the chain under the top layer, nearest first, as the daemon's records have it;
   * {@code cloneMemoryFd} the descriptor a clone's sealed snapshot memory is open on (SealedMemory).
   */
  static List<String> build(String qemuBinary, VmSpec s, boolean incoming, boolean topQcow2, List<Backing> below,
      java.util.OptionalInt cloneMemoryFd) {
    // The two machines differ in their bus (virtio-mmio "-device" models or PCI "-pci" ones) and
    // in what the machine itself is given; everything else is the same VM.
    String bus = s.machine() == Machine.Q35 ? "pci" : "device";
    List<String> a = new ArrayList<>();
    a.add(qemuBinary);
    a.addAll(List.of("-name", "kiln-" + s.name() + ",debug-threads=on"));
    a.addAll(List.of("-machine", machine(s)));
    s.memory().ifPresent(m -> a.addAll(List.of("-object", m.mode() == GuestMemory.Mode.STREAMED
        ? "memory-backend-ram,id=mem,size=" + s.memoryMib() + "M"
        : "memory-backend-file,id=mem,size=" + s.memoryMib() + "M,mem-path="
            + (cloneMemoryFd.isPresent() ? SealedMemory.ownDescriptor(cloneMemoryFd.getAsInt()) : m.file().toString())
            + (m.mode() == GuestMemory.Mode.SHARED ? ",share=on" : ",share=off"))));
    a.addAll(List.of("-accel", s.accelerator() == Accelerator.KVM ? "kvm" : "tcg,tb-size=" + TCG_CACHE_MIB));
    // Under TCG "max" gives the guest every feature QEMU can emulate; under KVM "host" passes the real CPU.
    a.addAll(List.of("-cpu", s.accelerator() == Accelerator.KVM ? "host" : "max"));
    a.addAll(memoryAndCpus(s));
    a.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"));
    a.addAll(List.of("-kernel", s.kernel().toString(), "-initrd", s.initrd().toString(), "-append", kernelCmdline(s)));
    // A socket the daemon reads into a bounded log (ConsoleLog), not a file QEMU would grow without end.
    a.addAll(List.of("-chardev", "socket,id=console,path=" + s.consoleSocket() + ",server=on,wait=off", "-serial", "chardev:console"));
    // One queue, as on virtio-mmio: virtio-blk-pci would size its queues (and its PCI config) by
    // the vCPU count at start, which a hot-plug changes, and a saved state then no longer loads.
    a.addAll(disk(s, topQcow2, below));
    a.addAll(List.of("-device", "virtio-blk-" + bus + ",drive=" + nodeName(s.rootDisk()) + (s.machine() == Machine.Q35 ? ",num-queues=1" : "")));
    a.addAll(List.of("-device", "virtio-serial-" + bus,
        "-chardev", "socket,id=agent,path=" + s.agentSocket() + ",server=on,wait=off",
        "-device", "virtserialport,chardev=agent,name=kiln.agent"));
    a.addAll(List.of("-device", "virtio-rng-" + bus));
    // No vhost: QEMU runs unprivileged and /dev/vhost-net is not needed for a TCG guest's rates.
    s.nic().ifPresent(n -> a.addAll(List.of("-netdev", "tap,id=net0,ifname=" + n.tap() + ",script=no,downscript=no",
        "-device", "virtio-net-" + bus + ",netdev=net0,mac=" + n.mac())));
    a.addAll(List.of("-qmp", "unix:" + s.qmpSocket() + ",server=on,wait=off"));
    // Least privilege, part two (part one is the unprivileged user QemuBackend starts us as): a
    // seccomp filter against forking, exec, privilege changes and obsolete syscalls. This is why
    // QEMU is not started with -daemonize (its fork is blocked) nor -runas (its setuid is).
    a.addAll(List.of("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
    a.addAll(List.of("-pidfile", s.pidFile().toString()));
    // "defer": the stream is attached over QMP once the capabilities are set; on the command line
    // the load races the capability setup.
    // -S: the VM stays stopped once loaded, also when the stream comes from a running VM (a live
    // migration), until the daemon has put its disk in place and says cont.
    if (incoming) a.addAll(List.of("-incoming", "defer", "-S"));
    return a;
  }

  /**
   * The root disk as an explicit {@code -blockdev} chain: every layer's backing is named here, and
   * the bottom one's is null, so QEMU follows no backing-file name written inside a qcow2 header
   * (which the QEMU that last wrote the file controlled). Only the top layer, the VM's own, is
   * opened by path.
   */
  private static List<String> disk(VmSpec s, boolean topQcow2, List<Backing> below) {
    List<String> a = new ArrayList<>();
    for (int i = below.size() - 1; i >= 0; i--) {
      Backing b = below.get(i);
      a.addAll(List.of("-add-fd", "fd=" + b.fd() + ",set=" + b.fd()));
      ObjectNode file = JSON.createObjectNode().put("driver", "file").put("node-name", "f" + i).put("filename", "/dev/fdset/" + b.fd())
          .put("read-only", true);
      ObjectNode format = JSON.createObjectNode().put("driver", b.qcow2() ? "qcow2" : "raw").put("node-name", "b" + i).put("file", "f" + i)
          .put("read-only", true);
      if (b.qcow2()) backing(format, i + 1 < below.size() ? "b" + (i + 1) : null);
      a.addAll(List.of("-blockdev", file.toString(), "-blockdev", format.toString()));
    }
    ObjectNode file = JSON.createObjectNode().put("driver", "file").put("filename", s.rootDisk().toString()).put("discard", "unmap");
    ObjectNode top = JSON.createObjectNode().put("driver", topQcow2 ? "qcow2" : "raw").put("node-name", nodeName(s.rootDisk())).put("discard", "unmap");
    top.set("file", file);
    if (topQcow2) backing(top, below.isEmpty() ? null : "b0");
    a.addAll(List.of("-blockdev", top.toString()));
    return a;
  }

  private static void backing(ObjectNode node, String backing) {
    if (backing == null) node.putNull("backing");
    else node.put("backing", backing);
  }

  /**
   * The block node of a top layer, named after its path: the daemon finds the node of the layer it
   * recorded (to freeze or grow it) without asking QEMU, whose answer it would have to trust.
   */
  static String nodeName(java.nio.file.Path layer) {
    return "d" + dev.kiln.host.Checksums.sha256Hex(layer.toAbsolutePath().normalize().toString()).substring(0, 20);
  }

  private static String machine(VmSpec s) {
    String backend = s.memory().isPresent() ? ",memory-backend=mem" : "";
    return switch (s.machine()) {
      // microvm: no PCI, no firmware tables beyond what the kernel needs; qboot is its default BIOS.
      // No PIT for a guest given its TSC rate, which neither calibrates nor keeps time with it (VmSpec.LAYOUT).
      case MICROVM -> "microvm" + (s.legacyPit() || !s.kernelCmdline().contains("tsc_early_khz=") ? "" : ",pit=off") + backend;
      // q35: SeaBIOS (QEMU's default) and ACPI, which the guest needs to hear of hot-plugged CPUs
      // and DIMMs. No SMM (nothing here needs it, and under TCG it slows the firmware) nor VMware port.
      case Q35 -> "q35,smm=off,vmport=off" + backend;
    };
  }

  /**
   * {@code -m} and {@code -smp}, with the room a q35 VM may grow into. Hot-plugged DIMMs are
   * started as devices of their own, in plug order: the RAM layout a saved state was taken from.
   */
  private static List<String> memoryAndCpus(VmSpec s) {
    if (s.hotplug().isEmpty()) return List.of("-m", s.memoryMib() + "M", "-smp", Integer.toString(s.vcpus()));
    Hotplug h = s.hotplug().get();
    List<String> a = new ArrayList<>();
    // QEMU refuses slots without memory to fill them: a VM that may only gain CPUs gets plain -m.
    a.addAll(List.of("-m", h.maxMemoryMib() > s.memoryMib()
        ? s.memoryMib() + "M,slots=" + Hotplug.SLOTS + ",maxmem=" + h.maxMemoryMib() + "M" : s.memoryMib() + "M"));
    a.addAll(List.of("-smp", s.vcpus() + ",maxcpus=" + h.maxVcpus()));
    for (int i = 0; i < h.dimmsMib().size(); i++) {
      a.addAll(List.of("-object", "memory-backend-ram,id=" + dimmBackend(i) + ",size=" + h.dimmsMib().get(i) + "M",
          "-device", "pc-dimm,id=" + dimmDevice(i) + ",memdev=" + dimmBackend(i)));
    }
    return a;
  }

  /** The guest kernel's command line: the caller's, plus what the machine needs. */
  static String kernelCmdline(VmSpec s) {
    // With no udev in the guest, hot-plugged memory stays offline unless the kernel onlines it.
    return s.hotplug().isPresent() ? s.kernelCmdline() + " memhp_default_state=online" : s.kernelCmdline();
  }

  static String dimmBackend(int i) {
    return "dimm" + i + "-ram";
  }

  static String dimmDevice(int i) {
    return "dimm" + i;
  }
}
