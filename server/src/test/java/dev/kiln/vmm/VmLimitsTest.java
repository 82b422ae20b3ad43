package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The memory limit of a VM's control group: its RAM, twice for a clone of a template snapshot's sealed memory, plus QEMU's overhead. */
class VmLimitsTest {
  private static final Path DIR = Path.of("/nonexistent/run");

  private static VmSpec spec() {
    return new VmSpec("sb-limits", DIR, DIR.resolve("vmlinux"), DIR.resolve("initrd"), "", DIR.resolve("disk.qcow2"), 1, 512, Accelerator.TCG);
  }

  @Test
  void aCloneOfASnapshotMayFillTheSnapshotsPagesAndCopyThemABootedVmOnlyItsRam() {
    long overhead = VmLimits.overheadBytes(Accelerator.TCG);
    assertEquals((512L << 20) + overhead, VmLimits.of(spec()).memoryBytes(), "booted");
    assertEquals((512L << 20) + overhead, VmLimits.of(spec().withMemory(GuestMemory.streamed())).memoryBytes(), "streamed in");
    assertEquals((512L << 20) + overhead, VmLimits.of(spec().withMemory(new GuestMemory(DIR.resolve("memory"), GuestMemory.Mode.SHARED))).memoryBytes(),
        "the snapshot's own VM writes its file");
    assertEquals((1024L << 20) + overhead, VmLimits.of(spec().withMemory(new GuestMemory(DIR.resolve("memory"), GuestMemory.Mode.CLONE))).memoryBytes(),
        "a clone");
  }
}
