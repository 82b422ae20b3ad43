package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.host.CommandRunner;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Layers after the first on a base are copies of the first: byte for byte what qemu-img makes, with the base's size. */
class OverlayTest {
  @TempDir
  Path dir;

  @Test
  void aSecondLayerOnABaseIsWhatQemuImgWouldHaveWritten() throws Exception {
    Path base = sized(dir.resolve("base.raw"), 64 << 20);
    Overlay.create(dir.resolve("first.qcow2"), base, Overlay.BaseFormat.RAW);
    Overlay.create(dir.resolve("second.qcow2"), base, Overlay.BaseFormat.RAW);
    CommandRunner.run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base.toString(), dir.resolve("by-hand.qcow2").toString()),
        Duration.ofSeconds(30));
    assertArrayEquals(Files.readAllBytes(dir.resolve("by-hand.qcow2")), Files.readAllBytes(dir.resolve("second.qcow2")));
    assertEquals(base.toString(), DiskParents.of(dir.resolve("second.qcow2")).orElseThrow().toString(), "the copy has its parent record too");
    String info = CommandRunner.run(List.of("qemu-img", "info", dir.resolve("second.qcow2").toString()), Duration.ofSeconds(30)).stdout();
    assertTrue(info.contains("backing file: " + base) && info.contains("67108864 bytes"), info);
  }

  @Test
  void aBaseOfAnotherSizeGetsALayerOfItsOwnSize() throws Exception {
    Path base = sized(dir.resolve("grows.raw"), 64 << 20);
    Overlay.create(dir.resolve("a.qcow2"), base, Overlay.BaseFormat.RAW);
    sized(base, 128 << 20);
    Overlay.create(dir.resolve("b.qcow2"), base, Overlay.BaseFormat.RAW);
    String info = CommandRunner.run(List.of("qemu-img", "info", dir.resolve("b.qcow2").toString()), Duration.ofSeconds(30)).stdout();
    assertTrue(info.contains("134217728 bytes"), info);
  }

  private static Path sized(Path p, long bytes) throws Exception {
    try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
      f.setLength(bytes);
    }
    return p;
  }
}
