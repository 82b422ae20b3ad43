package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The persisted form of a VM: it round-trips, older records still read, newer and broken ones are refused with a reason. */
class VmRecordsTest {
  private static final VmSpec SPEC = new VmSpec("sb-abc", Path.of("/d/sandboxes/sb-abc"), Path.of("/k"), Path.of("/i"), "console=ttyS0",
      Path.of("/d/disks/l1"), 2, 512, Accelerator.TCG, Optional.of(new GuestMemory(Path.of("/t/memory"), GuestMemory.Mode.CLONE)),
      Optional.of(new VmSpec.Nic("kn-1", "tap0", "02:00:00:00:00:01")));

  @Test
  void aRecordReadsBackAsTheSameVm() throws Exception {
    assertEquals(SPEC, VmRecords.decode(VmRecords.encode(SPEC)));
    assertTrue(VmRecords.encode(SPEC).contains("\"v\":3"), "records say their version");
    VmSpec grown = SPEC.onMachine(Machine.Q35, Optional.of(new Hotplug(4, 2048, java.util.List.of(256L, 128L))));
    assertEquals(grown, VmRecords.decode(VmRecords.encode(grown)), "a q35 with its room and DIMMs in plug order");
  }

  @Test
  void aRecordWrittenBeforeVersionsExistedIsAVersionOneMicrovmWithThePit() throws Exception {
    String old = VmRecords.encode(SPEC).replace("\"v\":3,", "").replace(",\"machine\":\"microvm\",\"hotplug\":null,\"legacyPit\":false", "");
    VmSpec read = VmRecords.decode(old);
    assertTrue(read.legacyPit(), "a VM of the first layout had the PIT: its saved state loads only into a machine with one");
    assertEquals(SPEC, new VmSpec(read.name(), read.runDir(), read.kernel(), read.initrd(), read.kernelCmdline(), read.rootDisk(), read.vcpus(),
        read.memoryMib(), read.accelerator(), read.memory(), read.nic(), read.machine(), read.hotplug(), false));
  }

  @Test
  void aVersionTwoRecordIsOfAMicrovmWithThePitAndStaysOneWhenWrittenAgain() throws Exception {
    String v2 = VmRecords.encode(SPEC).replace("\"v\":3", "\"v\":2").replace(",\"legacyPit\":false", "");
    VmSpec read = VmRecords.decode(v2);
    assertTrue(read.legacyPit());
    assertTrue(VmRecords.decode(VmRecords.encode(read.withRootDisk(Path.of("/d/disks/l2")))).legacyPit(), "a checkpoint of it keeps the layout");
    VmSpec timed = new VmSpec(read.name(), read.runDir(), read.kernel(), read.initrd(), "console=ttyS0 tsc_early_khz=2100000", read.rootDisk(),
        read.vcpus(), read.memoryMib(), read.accelerator(), Optional.empty(), Optional.empty(), Machine.MICROVM, Optional.empty(), true);
    assertTrue(QemuCommandLine.build("qemu-system-x86_64", timed).stream().noneMatch(a -> a.contains("pit=off")), "its PIT stays");
  }

  @Test
  void aNewerOrBrokenRecordIsRefusedWithAReason() {
    VmmException newer = assertThrows(VmmException.class, () -> VmRecords.decode(VmRecords.encode(SPEC).replace("\"v\":3", "\"v\":9")));
    assertEquals("VM record version 9 is newer than this daemon reads (3)", newer.getMessage());
    assertThrows(VmmException.class, () -> VmRecords.decode("{\"v\":1"));
    assertThrows(VmmException.class, () -> VmRecords.decode(VmRecords.encode(SPEC).replace("\"vcpus\":2", "\"vcpus\":0")));
  }
}
