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
    assertTrue(VmRecords.encode(SPEC).contains("\"v\":2"), "records say their version");
    VmSpec grown = SPEC.onMachine(Machine.Q35, Optional.of(new Hotplug(4, 2048, java.util.List.of(256L, 128L))));
    assertEquals(grown, VmRecords.decode(VmRecords.encode(grown)), "a q35 with its room and DIMMs in plug order");
  }

  @Test
  void aRecordWrittenBeforeVersionsExistedIsAVersionOneMicrovm() throws Exception {
    String old = VmRecords.encode(SPEC).replace("\"v\":2,", "").replace(",\"machine\":\"microvm\",\"hotplug\":null", "");
    assertEquals(SPEC, VmRecords.decode(old));
  }

  @Test
  void aNewerOrBrokenRecordIsRefusedWithAReason() {
    VmmException newer = assertThrows(VmmException.class, () -> VmRecords.decode(VmRecords.encode(SPEC).replace("\"v\":2", "\"v\":9")));
    assertEquals("VM record version 9 is newer than this daemon reads (2)", newer.getMessage());
    assertThrows(VmmException.class, () -> VmRecords.decode("{\"v\":1"));
    assertThrows(VmmException.class, () -> VmRecords.decode(VmRecords.encode(SPEC).replace("\"vcpus\":2", "\"vcpus\":0")));
  }
}
