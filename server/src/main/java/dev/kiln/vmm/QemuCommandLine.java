package dev.kiln.vmm;

import java.util.ArrayList;
import java.util.List;

/** Builds the argv of one QEMU {@code microvm} process. Pure: no I/O, unit-tested. */
final class QemuCommandLine {
  private QemuCommandLine() {}

  static List<String> build(String qemuBinary, VmSpec s) {
    return build(qemuBinary, s, false);
  }

  /** With {@code incoming}, QEMU waits for a migration stream (a snapshot) instead of booting. */
  static List<String> build(String qemuBinary, VmSpec s, boolean incoming) {
    List<String> a = new ArrayList<>();
    a.add(qemuBinary);
    a.addAll(List.of("-name", "kiln-" + s.name() + ",debug-threads=on"));
    // microvm: no PCI, no firmware tables beyond what the kernel needs; qboot is its default BIOS.
    a.addAll(List.of("-machine", s.memory().isPresent() ? "microvm,memory-backend=mem" : "microvm"));
    s.memory().ifPresent(m -> a.addAll(List.of("-object", "memory-backend-file,id=mem,size=" + s.memoryMib() + "M,mem-path=" + m.file()
        + (m.mode() == GuestMemory.Mode.SHARED ? ",share=on" : ",share=off"))));
    a.addAll(List.of("-accel", s.accelerator() == Accelerator.KVM ? "kvm" : "tcg"));
    // Under TCG "max" gives the guest every feature QEMU can emulate; under KVM "host" passes the real CPU.
    a.addAll(List.of("-cpu", s.accelerator() == Accelerator.KVM ? "host" : "max"));
    a.addAll(List.of("-m", s.memoryMib() + "M", "-smp", Integer.toString(s.vcpus())));
    a.addAll(List.of("-nodefaults", "-no-user-config", "-display", "none", "-no-reboot"));
    a.addAll(List.of("-kernel", s.kernel().toString(), "-initrd", s.initrd().toString(), "-append", s.kernelCmdline()));
    a.addAll(List.of("-chardev", "file,id=console,path=" + s.consoleLog(), "-serial", "chardev:console"));
    a.addAll(List.of("-drive", "id=root,file=" + s.rootDisk() + ",format=qcow2,if=none,discard=unmap",
        "-device", "virtio-blk-device,drive=root"));
    a.addAll(List.of("-device", "virtio-serial-device",
        "-chardev", "socket,id=agent,path=" + s.agentSocket() + ",server=on,wait=off",
        "-device", "virtserialport,chardev=agent,name=kiln.agent"));
    a.addAll(List.of("-device", "virtio-rng-device"));
    // No vhost: QEMU runs unprivileged and /dev/vhost-net is not needed for a TCG guest's rates.
    s.nic().ifPresent(n -> a.addAll(List.of("-netdev", "tap,id=net0,ifname=" + n.tap() + ",script=no,downscript=no",
        "-device", "virtio-net-device,netdev=net0,mac=" + n.mac())));
    a.addAll(List.of("-qmp", "unix:" + s.qmpSocket() + ",server=on,wait=off"));
    // Least privilege, part two (part one is the unprivileged user QemuBackend starts us as): a
    // seccomp filter against forking, exec, privilege changes and obsolete syscalls. This is why
    // QEMU is not started with -daemonize (its fork is blocked) nor -runas (its setuid is).
    a.addAll(List.of("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
    a.addAll(List.of("-pidfile", s.pidFile().toString()));
    // "defer": the stream is attached over QMP once the capabilities are set; on the command line
    // the load races the capability setup.
    if (incoming) a.addAll(List.of("-incoming", "defer"));
    return a;
  }
}
