package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Collection by reachability on real qcow2 files made by qemu-img: a raw base outside the
 * directory, a frozen layer on it, a top layer (the root) on that, and one layer nothing reaches.
 */
class DiskLayersTest {
  @TempDir Path tmp;
  private DiskLayers layers;
  private Path base;
  private Path frozen;
  private Path top;
  private Path garbage;

  @BeforeEach
  void chain() throws IOException {
    base = tmp.resolve("rootfs.ext4");
    try (RandomAccessFile f = new RandomAccessFile(base.toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    layers = new DiskLayers(tmp.resolve("disks"));
    frozen = recorded(layers.create(new DiskBase.Image(base)));
    top = recorded(layers.create(new DiskBase.Layer(frozen)));
    garbage = recorded(layers.create(new DiskBase.Image(base)));
  }

  private Path recorded(Path layer) {
    layers.recorded(layer);
    return layer;
  }

  private static void corruptHeader(Path layer) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(layer.toFile(), "rw")) {
      f.write(new byte[] {0, 0, 0, 0}); // the magic
    }
  }

  @Test
  void removesOnlyWhatNoRootReaches() {
    assertEquals(1, layers.collect(() -> Set.of(top)));
    assertTrue(Files.exists(top) && Files.exists(frozen));
    assertFalse(Files.exists(garbage));
  }

  @Test
  void aLayerOnABaseThatIsGoneIsAnIoFailureThatLeavesNothing() throws IOException {
    Path gone = tmp.resolve("gone.qcow2");
    IOException e = assertThrows(IOException.class, () -> layers.create(new DiskBase.Layer(gone)));
    assertEquals("a disk layer on gone.qcow2 could not be made (qemu-img exited with 1)", e.getMessage());
    try (var left = Files.newDirectoryStream(tmp.resolve("disks"), "*.{qcow2,parent,tmp}")) {
      assertEquals(6, java.util.stream.StreamSupport.stream(left.spliterator(), false).count(), "only the three layers the test made, with their records");
    }
  }

  @Test
  void aHeldLayerAndItsChainOutliveTheirLastRootUntilTheHoldIsClosed() {
    // A fork's base: its checkpoint (the root) is deleted before the fork has a layer of its own.
    try (DiskLayers.Hold hold = layers.hold(top)) {
      assertEquals(1, layers.collect(Set::of), "only the garbage goes");
      assertTrue(Files.exists(top) && Files.exists(frozen), "the held layer and what it is built on stay");
    }
    assertEquals(2, layers.collect(Set::of), "released: nothing keeps them");
    assertFalse(Files.exists(top) || Files.exists(frozen));
  }

  @Test
  void aHeaderRewrittenOrGarbledChangesNoChainTheRecordsKeep() throws IOException {
    // The top layer is its QEMU's to write: whatever it leaves in the header, the record says what
    // the layer is built on.
    corruptHeader(top);
    assertEquals(1, layers.collect(() -> Set.of(top)));
    assertTrue(Files.exists(frozen), "the layer under it is kept by the record");
    assertFalse(Files.exists(garbage));
  }

  @Test
  void aTruncatedTopLayerKeepsItsChain() throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(top.toFile(), "rw")) {
      f.setLength(10);
    }
    assertEquals(1, layers.collect(() -> Set.of(top)));
    assertTrue(Files.exists(frozen));
  }

  @Test
  void anUnreadableRecordAbortsThePass() throws IOException {
    Files.writeString(DiskParents.recordOf(top), "x".repeat(5000));
    assertEquals(0, layers.collect(() -> Set.of(top)));
    assertTrue(Files.exists(frozen) && Files.exists(garbage), "nothing is deleted in an aborted pass");
  }

  @Test
  void aLayerWithNeitherRecordNorHeaderAbortsThePass() throws IOException {
    Files.delete(DiskParents.recordOf(garbage));
    corruptHeader(garbage);
    assertEquals(0, layers.collect(() -> Set.of(top)));
    assertTrue(Files.exists(garbage) && Files.exists(frozen));
  }

  @Test
  void aBackingFileOutsideTheDirectoryThatDoesNotResolveAbortsThePass() throws IOException {
    Files.delete(base);
    assertEquals(0, layers.collect(() -> Set.of(top)));
    assertTrue(Files.exists(garbage));
  }

  @Test
  void rootsThatCannotBeListedAbortThePass() {
    assertEquals(0, layers.collect(() -> {
      throw new IllegalStateException("database is locked");
    }));
    assertTrue(Files.exists(garbage) && Files.exists(frozen) && Files.exists(top));
  }

  @Test
  void aRootReachedThroughASymbolicLinkKeepsItsChain() throws IOException {
    Path link = Files.createSymbolicLink(tmp.resolve("top-link.qcow2"), top);
    assertEquals(1, layers.collect(() -> Set.of(link)));
    assertTrue(Files.exists(top) && Files.exists(frozen));
  }
}
