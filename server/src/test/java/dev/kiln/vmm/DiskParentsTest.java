package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A chain is what the daemon recorded when it made each layer, never what a header says now. */
class DiskParentsTest {
  @TempDir
  Path dir;

  private Path raw() throws IOException {
    Path image = dir.resolve("rootfs.ext4");
    try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    return image;
  }

  @Test
  void aRewrittenHeaderChangesNothingAndAMissingRecordIsRefused() throws Exception {
    Path image = raw();
    Path lower = dir.resolve("lower.qcow2");
    Overlay.create(lower, image, Overlay.BaseFormat.RAW);
    Path top = dir.resolve("top.qcow2");
    Overlay.create(top, lower, Overlay.BaseFormat.QCOW2);
    assertEquals(List.of(lower.toAbsolutePath().normalize(), image.toAbsolutePath().normalize()), DiskParents.below(top));

    // What a QEMU taken over by its guest can do to the layer it writes.
    CommandRunner.run(List.of("qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "raw", "-b", "/etc/shadow", top.toString()), Duration.ofSeconds(30));
    assertEquals(Optional.of(lower.toAbsolutePath().normalize()), DiskParents.of(top).map(p -> p.toAbsolutePath().normalize()));

    Files.delete(DiskParents.recordOf(top));
    IOException e = assertThrows(IOException.class, () -> DiskParents.below(top));
    assertTrue(e.getMessage().contains("no parent record"), e.getMessage());
  }

  @Test
  void layersFromBeforeRecordsGetThemOnceAtStartFromTheirHeadersRelativeNamesKept() throws Exception {
    Path image = raw();
    Path snapshot = Files.createDirectories(dir.resolve("artifacts/snapshots/s1")).resolve("disk.qcow2");
    Overlay.createRelative(snapshot, image, Overlay.BaseFormat.RAW);
    Files.delete(DiskParents.recordOf(snapshot));
    assertEquals(1, DiskParents.adoptLegacy(dir));
    assertEquals("../../../rootfs.ext4", Files.readString(DiskParents.recordOf(snapshot)));
    assertEquals(List.of(image.toAbsolutePath().normalize()), DiskParents.below(snapshot));
    assertEquals(0, DiskParents.adoptLegacy(dir), "once");
  }

  @Test
  void aLoopIsRefused() throws Exception {
    Path a = dir.resolve("a.qcow2");
    Path b = dir.resolve("b.qcow2");
    Overlay.create(a, raw(), Overlay.BaseFormat.RAW);
    Overlay.create(b, a, Overlay.BaseFormat.QCOW2);
    DiskParents.record(a, b.toString());
    IOException e = assertThrows(IOException.class, () -> DiskParents.below(b));
    assertTrue(e.getMessage().contains("loops"), e.getMessage());
  }
}
