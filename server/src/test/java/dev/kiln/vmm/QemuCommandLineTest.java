package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class QemuCommandLineTest {
  private final VmSpec spec = new VmSpec("sb-test", Path.of("/run/k/sb-test"), Path.of("/g/vmlinux"), Path.of("/g/initrd.cpio"),
      "console=ttyS0", Path.of("/run/k/sb-test/rootfs.qcow2"), 2, 256, Accelerator.TCG);

  private static String after(List<String> argv, String flag) {
    return argv.get(argv.indexOf(flag) + 1);
  }

  @Test
  void microvmUnderTcgDetachedWithSockets() {
    List<String> a = QemuCommandLine.build("qemu-system-x86_64", spec);
    assertEquals("microvm", after(a, "-machine"));
    assertEquals("tcg", after(a, "-accel"));
    assertEquals("max", after(a, "-cpu"));
    assertEquals("256M", after(a, "-m"));
    assertEquals("2", after(a, "-smp"));
    assertFalse(a.contains("-daemonize"), "-daemonize forks, which the seccomp sandbox forbids");
    assertEquals("/run/k/sb-test/qemu.pid", after(a, "-pidfile"));
    assertEquals("unix:/run/k/sb-test/qmp.sock,server=on,wait=off", after(a, "-qmp"));
    assertTrue(a.contains("socket,id=agent,path=/run/k/sb-test/agent.sock,server=on,wait=off"));
    assertTrue(a.contains("virtserialport,chardev=agent,name=kiln.agent"));
    assertTrue(after(a, "-sandbox").startsWith("on,"));
    assertFalse(a.contains("-runas"));
  }

  @Test
  void kvmUsesHostCpu() {
    VmSpec kvm = new VmSpec("sb-k", spec.runDir(), spec.kernel(), spec.initrd(), "", spec.rootDisk(), 1, 128, Accelerator.KVM);
    List<String> a = QemuCommandLine.build("qemu", kvm);
    assertEquals("kvm", after(a, "-accel"));
    assertEquals("host", after(a, "-cpu"));
    assertFalse(a.contains("-runas"), "-runas calls setuid after seccomp is on; QemuBackend uses setpriv instead");
  }
}
