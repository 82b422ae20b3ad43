package dev.kiln.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.Overlay;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Collection of template images and snapshots by reachability, on real qcow2 files made by
 * qemu-img: an old snapshot a sandbox's layer is built on, the current one a template row names
 * (a real SQLite store), a superseded one nothing reaches, and each one's image.
 */
class ArtifactsTest {
  @TempDir Path data;
  private Database db;
  private TemplateRepository templates;
  private Artifacts artifacts;
  private SnapshotPointers pointers;
  private DiskLayers disks;
  private Path oldImage;
  private Path oldSnapshot;
  private Path currentSnapshot;
  private Path garbageImage;
  private Path garbageSnapshot;
  private Path layer;

  @BeforeEach
  void artifacts() throws Exception {
    db = Database.open(data.resolve("kiln.db"));
    templates = new TemplateRepository(db);
    artifacts = new Artifacts(data);
    pointers = new SnapshotPointers(data, templates, artifacts);
    template("t");
    disks = new DiskLayers(data.resolve("disks"));
    oldImage = image();
    oldSnapshot = snapshot(oldImage);
    Path currentImage = image();
    currentSnapshot = snapshot(currentImage);
    garbageImage = image();
    garbageSnapshot = snapshot(garbageImage);
    assertTrue(pointers.point("t", false, Optional.empty(), currentSnapshot));
    layer = disks.create(new dev.kiln.vmm.DiskBase.Layer(oldSnapshot.resolve("disk.qcow2"))); // a sandbox restored before the re-snapshot
    disks.recorded(layer);
  }

  @AfterEach
  void close() {
    db.close();
  }

  private void template(String name) {
    Instant now = Instant.now();
    templates.upsert(new TemplateRow(name, "READY", "dir:/x", Optional.of("/x.ext4"), OptionalLong.empty(), Optional.empty(), now, now,
        Optional.empty(), Optional.empty(), 256, "MICROVM", ""));
  }

  private Path image() throws IOException {
    Path b = artifacts.building(Artifacts.Kind.IMAGE);
    try (RandomAccessFile f = new RandomAccessFile(b.resolve("rootfs.ext4").toFile(), "rw")) {
      f.setLength(1 << 20);
    }
    Path a = artifacts.publish(b);
    artifacts.recorded(a);
    return a.resolve("rootfs.ext4");
  }

  private Path snapshot(Path image) throws IOException {
    Path b = artifacts.building(Artifacts.Kind.SNAPSHOT);
    Overlay.create(b.resolve("disk.qcow2"), image, Overlay.BaseFormat.RAW);
    Files.writeString(b.resolve("state"), "state");
    Path a = artifacts.publish(b);
    artifacts.recorded(a);
    return a;
  }

  /** What the daemon's roots are made of: every disk layer and every template's current snapshot. */
  private Set<Path> roots() throws IOException {
    Set<Path> roots = new HashSet<>(disks.layers());
    roots.addAll(pointers.all());
    return roots;
  }

  private static void corruptHeader(Path qcow2) throws IOException {
    Files.setAttribute(qcow2, "unix:mode", 0644);
    try (RandomAccessFile f = new RandomAccessFile(qcow2.toFile(), "rw")) {
      f.write(new byte[] {0, 0, 0, 0}); // the magic
    }
  }

  private void assertAllThere() {
    for (Path p : java.util.List.of(oldImage, oldSnapshot, currentSnapshot, garbageImage, garbageSnapshot)) assertTrue(Files.exists(p), p + " was deleted");
  }

  @Test
  void removesTheSupersededSnapshotAndItsImageKeepsWhatALayerOrAPointerReaches() {
    assertEquals(2, artifacts.collect(this::roots, DiskLayers::backingOf));
    assertFalse(Files.exists(garbageSnapshot));
    assertFalse(Files.exists(garbageImage.getParent()));
    assertTrue(Files.exists(oldSnapshot.resolve("disk.qcow2")) && Files.exists(oldImage), "the sandbox's layer is built on them");
    assertTrue(Files.exists(currentSnapshot.resolve("state")));
  }

  @Test
  void anUnreadableChainAbortsThePassAndDeletesNothing() throws IOException {
    corruptHeader(oldSnapshot.resolve("disk.qcow2"));
    assertEquals(0, artifacts.collect(this::roots, DiskLayers::backingOf));
    assertAllThere();
  }

  @Test
  void aPointerFileThatCannotBeTakenOverAbortsThePassAndDeletesNothing() throws IOException {
    Files.createDirectories(data.resolve("templates/t"));
    Files.writeString(data.resolve("templates/t/snapshot-net.json"), "{\"di"); // a daemon before the columns wrote it; torn since
    assertEquals(0, artifacts.collect(this::roots, DiskLayers::backingOf));
    assertAllThere();
  }

  @Test
  void aBaseThatIsGoneAbortsThePassAndDeletesNothing() throws IOException {
    Path b = artifacts.building(Artifacts.Kind.SNAPSHOT);
    Path missingBase = data.resolve("artifacts/images/gone/rootfs.ext4");
    Files.createDirectories(missingBase.getParent());
    Files.write(missingBase, new byte[1 << 16]);
    Overlay.create(b.resolve("disk.qcow2"), missingBase, Overlay.BaseFormat.RAW);
    Files.delete(missingBase);
    template("u");
    assertTrue(pointers.point("u", false, Optional.empty(), artifacts.publish(b)));
    assertEquals(0, artifacts.collect(this::roots, DiskLayers::backingOf));
    assertAllThere();
  }

  @Test
  void aFailureComputingTheRootsDeletesNothing() {
    assertEquals(0, artifacts.collect(() -> {
      throw new IOException("database is locked");
    }, DiskLayers::backingOf));
    assertAllThere();
  }

  @Test
  void aHeldOrPendingArtifactIsKeptAndAHoldOnACollectedOneFails() throws IOException {
    Path building = artifacts.building(Artifacts.Kind.SNAPSHOT);
    Files.writeString(building.resolve("state"), "s");
    Path pending = artifacts.publish(building); // not recorded yet: its template row is being written
    try (Artifacts.Hold h = artifacts.hold(garbageSnapshot.resolve("disk.qcow2"))) {
      assertEquals(0, artifacts.collect(this::roots, DiskLayers::backingOf));
    }
    assertTrue(Files.exists(pending) && Files.exists(garbageImage));
    artifacts.recorded(pending);
    assertEquals(3, artifacts.collect(this::roots, DiskLayers::backingOf));
    assertThrows(NoSuchFileException.class, () -> artifacts.hold(garbageSnapshot.resolve("disk.qcow2")));
  }

  @Test
  void aDeletedTemplatesLegacySnapshotIsCollected() throws IOException {
    Path legacy = data.resolve("templates/gone/snapshot");
    Files.createDirectories(legacy);
    Files.writeString(legacy.resolve("state"), "s");
    assertTrue(pointers.current("gone", false).isPresent(), "read as current while the template exists");
    artifacts.collect(this::roots, DiskLayers::backingOf); // "gone" is not in the database
    assertFalse(Files.exists(legacy));
  }

  @Test
  void aLegacySnapshotIsAdoptedWhereItIsAndCollectedOnceNothingNamesIt() throws IOException {
    template("old");
    Path legacyImage = data.resolve("templates/old/rootfs.ext4");
    Files.createDirectories(legacyImage.getParent());
    Files.write(legacyImage, new byte[1 << 16]);
    Path legacy = data.resolve("templates/old/snapshot");
    Files.createDirectories(legacy);
    Overlay.create(legacy.resolve("disk.qcow2"), legacyImage, Overlay.BaseFormat.RAW);
    assertEquals(legacy, pointers.current("old", false).orElseThrow(), "no id recorded: the legacy directory is current");
    Path sandbox = disks.create(new dev.kiln.vmm.DiskBase.Layer(legacy.resolve("disk.qcow2")));
    disks.recorded(sandbox);

    assertTrue(pointers.point("old", false, Optional.of(legacy), currentSnapshot)); // re-snapshotted in the new layout
    artifacts.collect(this::roots, DiskLayers::backingOf);
    assertTrue(Files.exists(legacy.resolve("disk.qcow2")) && Files.exists(legacyImage), "a sandbox's layer names them by path");

    Files.delete(sandbox);
    artifacts.collect(this::roots, DiskLayers::backingOf);
    assertFalse(Files.exists(legacy));
    assertFalse(Files.exists(legacyImage));
  }
}
