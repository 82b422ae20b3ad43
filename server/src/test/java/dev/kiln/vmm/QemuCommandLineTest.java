package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
  void aMicrovmGuestGivenItsTscRateHasNoPitAndOneWithoutKeepsIt() {
    VmSpec timed = new VmSpec("sb-t", spec.runDir(), spec.kernel(), spec.initrd(), "console=ttyS0 tsc_early_khz=2100000 tsc=reliable", spec.rootDisk(), 1,
        256, Accelerator.TCG);
    assertEquals("microvm,pit=off", after(QemuCommandLine.build("qemu-system-x86_64", timed), "-machine"));
    assertEquals("microvm", after(QemuCommandLine.build("qemu-system-x86_64", spec), "-machine"), "without the rate the kernel calibrates against the PIT");
  }

  @Test
  void microvmUnderTcgDetachedWithSockets() {
    List<String> a = QemuCommandLine.build("qemu-system-x86_64", spec);
    assertEquals("microvm", after(a, "-machine"));
    assertEquals("tcg,tb-size=256", after(a, "-accel"), "a bounded translation cache, so the memory limit can be RAM plus a known overhead");
    assertEquals("max", after(a, "-cpu"));
    assertEquals("256M", after(a, "-m"));
    assertEquals("2", after(a, "-smp"));
    assertFalse(a.contains("-daemonize"), "-daemonize forks, which the seccomp sandbox forbids");
    assertEquals("/run/k/sb-test/qemu.pid", after(a, "-pidfile"));
    assertEquals("unix:/run/k/sb-test/qmp.sock,server=on,wait=off", after(a, "-qmp"));
    assertTrue(a.contains("socket,id=agent,path=/run/k/sb-test/agent.sock,server=on,wait=off"));
    assertTrue(a.contains("virtserialport,chardev=agent,name=kiln.agent"));
    assertTrue(a.contains("virtio-blk-device,drive=" + QemuCommandLine.nodeName(spec.rootDisk())));
    assertTrue(a.contains("virtio-serial-device"));
    assertTrue(after(a, "-sandbox").startsWith("on,"));
    assertFalse(a.contains("-runas"));
  }

  @Test
  void theChainBelowTheTopIsHandedOpenAndNoLayerFollowsItsHeader() throws Exception {
    List<String> a = QemuCommandLine.build("qemu", spec, false, true, List.of(new QemuCommandLine.Backing(3, true), new QemuCommandLine.Backing(4, false)),
        java.util.OptionalInt.empty());
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    List<com.fasterxml.jackson.databind.JsonNode> nodes = new java.util.ArrayList<>();
    for (int i = 0; i < a.size(); i++) if (a.get(i).equals("-blockdev")) nodes.add(json.readTree(a.get(i + 1)));
    assertTrue(a.contains("fd=3,set=3") && a.contains("fd=4,set=4"), a.toString());
    // Bottom first, so each node names one defined before it.
    assertEquals("/dev/fdset/4", nodes.get(0).path("filename").asText());
    assertEquals("raw", nodes.get(1).path("driver").asText());
    assertEquals("/dev/fdset/3", nodes.get(2).path("filename").asText());
    assertEquals("b1", nodes.get(3).path("backing").asText());
    assertTrue(nodes.get(3).path("read-only").asBoolean() && nodes.get(2).path("read-only").asBoolean());
    var top = nodes.get(4);
    assertEquals(QemuCommandLine.nodeName(spec.rootDisk()), top.path("node-name").asText());
    assertEquals("b0", top.path("backing").asText());
    assertEquals("/run/k/sb-test/rootfs.qcow2", top.path("file").path("filename").asText());
    assertFalse(a.contains("-drive"), "no -drive: it would follow the header's backing name");

    List<String> alone = QemuCommandLine.build("qemu", spec, false, true, List.of(), java.util.OptionalInt.empty());
    String topAlone = alone.get(alone.indexOf("-blockdev") + 1);
    assertTrue(json.readTree(topAlone).path("backing").isNull(), "a qcow2 on nothing says so, or QEMU would read its header: " + topAlone);
  }

  @Test
  void kvmUsesHostCpu() {
    VmSpec kvm = new VmSpec("sb-k", spec.runDir(), spec.kernel(), spec.initrd(), "", spec.rootDisk(), 1, 128, Accelerator.KVM);
    List<String> a = QemuCommandLine.build("qemu", kvm);
    assertEquals("kvm", after(a, "-accel"));
    assertEquals("host", after(a, "-cpu"));
    assertFalse(a.contains("-runas"), "-runas calls setuid after seccomp is on; QemuBackend uses setpriv instead");
  }

  @Test
  void q35PutsTheSameDevicesOnPciAndAddsNoMicrovmOption() {
    List<String> a = QemuCommandLine.build("qemu", spec.onMachine(Machine.Q35, Optional.empty()));
    assertEquals("q35,smm=off,vmport=off", after(a, "-machine"));
    assertTrue(a.contains("virtio-blk-pci,drive=" + QemuCommandLine.nodeName(spec.rootDisk()) + ",num-queues=1"));
    assertTrue(a.contains("virtio-serial-pci"));
    assertTrue(a.contains("virtio-rng-pci"));
    assertTrue(a.contains("virtserialport,chardev=agent,name=kiln.agent"));
    assertTrue(a.stream().noneMatch(x -> x.matches("virtio-[a-z]+-device.*")), "no virtio-mmio model on q35: " + a);
    assertEquals("256M", after(a, "-m"));
    assertEquals("2", after(a, "-smp"));
    assertEquals("console=ttyS0", after(a, "-append"));
  }

  @Test
  void q35WithRoomToGrowReservesItAndStartsPluggedDimmsInOrder() {
    VmSpec grown = spec.onMachine(Machine.Q35, Optional.of(new Hotplug(4, 2048, List.of(256L, 512L))));
    List<String> a = QemuCommandLine.build("qemu", grown);
    assertEquals("256M,slots=8,maxmem=2048M", after(a, "-m"));
    assertEquals("2,maxcpus=4", after(a, "-smp"));
    int first = a.indexOf("memory-backend-ram,id=dimm0-ram,size=256M");
    int second = a.indexOf("memory-backend-ram,id=dimm1-ram,size=512M");
    assertTrue(first > 0 && second > first, a.toString());
    assertEquals("pc-dimm,id=dimm1,memdev=dimm1-ram", a.get(second + 2));
    assertEquals("console=ttyS0 memhp_default_state=online", after(a, "-append"));
    assertEquals(1024, grown.totalMemoryMib());
  }

  @Test
  void roomForCpusOnlyGetsNoMemorySlots() {
    List<String> a = QemuCommandLine.build("qemu", spec.onMachine(Machine.Q35, Optional.of(Hotplug.upTo(4, 256))));
    assertEquals("256M", after(a, "-m"));
    assertEquals("2,maxcpus=4", after(a, "-smp"));
  }

  @Test
  void microvmHasNoRoomToGrowAndVmSpecsStayMicrovmByDefault() {
    assertEquals(Machine.MICROVM, spec.machine());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> spec.onMachine(Machine.MICROVM, Optional.of(Hotplug.upTo(4, 512))));
    assertEquals("microvm machines cannot hot-plug CPUs or memory", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> spec.onMachine(Machine.Q35, Optional.of(Hotplug.upTo(1, 512))), "below the 2 vCPUs it has");
    assertThrows(IllegalArgumentException.class, () -> new Hotplug(4, 2048, List.of(100L)), "not a whole memory block");
    assertEquals(Machine.Q35, Machine.fromWire("q35"));
    assertEquals("microvm", Machine.MICROVM.wire());
    assertThrows(IllegalArgumentException.class, () -> Machine.fromWire("pc"));
  }

  /** A clone never names its snapshot's memory file: it maps the sealed copy it was handed open. */
  @Test
  void aCloneMapsItsSealedMemoryThroughItsOwnDescriptor() {
    VmSpec clone = spec.withMemory(new GuestMemory(java.nio.file.Path.of("/data/artifacts/snapshots/s1/memory"), GuestMemory.Mode.CLONE));
    List<String> a = QemuCommandLine.build("qemu", clone, true, true, List.of(new QemuCommandLine.Backing(3, false)), java.util.OptionalInt.of(4));
    String backend = a.get(a.indexOf("-object") + 1);
    assertTrue(backend.contains("mem-path=/proc/self/fd/4,share=off"), backend);
    assertFalse(String.join(" ", a).contains("/data/artifacts/snapshots/s1/memory"), a.toString());
    List<String> opener = QemuBackend.opener(List.of(java.nio.file.Path.of("/img")), java.util.Optional.of("/proc/1/fd/9"), List.of());
    assertTrue(opener.get(2).startsWith("exec 3<\"${1}\" 4<>\"${2}\" || exit 1;"), opener.get(2));
    assertEquals(List.of("/img", "/proc/1/fd/9"), opener.subList(4, 6));
  }
}
