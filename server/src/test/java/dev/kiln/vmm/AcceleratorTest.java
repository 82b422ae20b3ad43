package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AcceleratorTest {
  @TempDir Path sys;

  @Test
  void pvmIsNotKvm() throws Exception {
    Files.createDirectories(sys.resolve("kvm_pvm"));
    Path devKvm = Files.createFile(sys.resolve("kvm"));
    assertEquals(Accelerator.TCG, Accelerator.resolve(Accelerator.Choice.AUTO, sys, devKvm));
  }

  @Test
  void realKvmWithWritableDeviceIsChosen() throws Exception {
    Files.createDirectories(sys.resolve("kvm_intel"));
    Path devKvm = Files.createFile(sys.resolve("kvm"));
    assertEquals(Accelerator.KVM, Accelerator.resolve(Accelerator.Choice.AUTO, sys, devKvm));
  }

  @Test
  void noModuleMeansTcgAndConfigWins() throws Exception {
    Path devKvm = sys.resolve("missing");
    assertEquals(Accelerator.TCG, Accelerator.resolve(Accelerator.Choice.AUTO, sys, devKvm));
    assertEquals(Accelerator.KVM, Accelerator.resolve(Accelerator.Choice.KVM, sys, devKvm));
  }
}
