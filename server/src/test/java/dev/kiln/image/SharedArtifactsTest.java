package dev.kiln.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.ObjectKey;
import dev.kiln.blob.ObjectStore;
import dev.kiln.blob.ObjectStores;
import dev.kiln.fixtures.CountedObjectStore;
import dev.kiln.fixtures.LocalS3;
import dev.kiln.host.CommandRunner;
import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.vmm.DiskBase;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.Overlay;
import dev.kiln.vmm.QemuBackend;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Template artifacts shared between two data directories (two nodes) through a real S3 server:
 * what node A publishes is uploaded with its seal last; node B, which has none of it, fetches the
 * image and the snapshot into its own layout, verified, with the snapshot's disk finding B's copy
 * of the image by its relative name. The snapshot is made as TemplateSnapshots makes one (a qcow2
 * layer on the image made by the backend's way, state, memory, manifest), without a VM.
 */
@ExtendWith(LocalS3.Extension.class)
class SharedArtifactsTest {
  private static LocalS3 s3;
  @TempDir Path tmp;
  private String bucketName;
  private ObjectStore bucket;
  private CountedObjectStore counted;
  private Artifacts a;
  private Path imageA;
  private Path snapshotA;
  private final QemuBackend backend = new QemuBackend("qemu-system-x86_64", Optional.empty(), Optional.empty(), OptionalLong.empty());

  @BeforeAll
  static void server(LocalS3 server) {
    s3 = server;
  }

  @BeforeEach
  void nodeA() throws IOException {
    bucketName = s3.newBucket();
    bucket = ObjectStores.open(s3.config(bucketName));
    counted = new CountedObjectStore(bucket);
    a = new Artifacts(tmp.resolve("a"), bucket, 1L << 30);
    imageA = image(a);
    snapshotA = snapshot(a, imageA);
  }

  @AfterEach
  void close() {
    bucket.close();
  }

  private static byte[] random(int size, long seed) {
    byte[] b = new byte[size];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static Path image(Artifacts on) throws IOException {
    Path b = on.building(Artifacts.Kind.IMAGE);
    try (RandomAccessFile f = new RandomAccessFile(b.resolve("rootfs.ext4").toFile(), "rw")) {
      f.setLength(2 << 20);
      f.write(random(4096, 1));
    }
    Files.setAttribute(b.resolve("rootfs.ext4"), "unix:mode", 0444);
    Path dir = on.publish(b);
    on.upload(dir);
    on.recorded(dir);
    return dir.resolve("rootfs.ext4");
  }

  /** What TemplateSnapshots.take leaves: the backend's files (a disk made the way QemuImages makes it), then the manifest, published, uploaded. */
  private static Path snapshot(Artifacts on, Path image) throws IOException {
    Path b = on.building(Artifacts.Kind.SNAPSHOT);
    Overlay.createRelative(b.resolve("disk.qcow2"), image, Overlay.BaseFormat.RAW);
    Files.write(b.resolve("state"), random(70_000, 2));
    Files.write(b.resolve("memory"), random(300_000, 3));
    Files.writeString(b.resolve("manifest.json"), "{\"vcpus\":1}");
    Path dir = on.publish(b);
    on.upload(dir);
    on.recorded(dir);
    return dir;
  }

  private Path nodeBDir() {
    return tmp.resolve("b");
  }

  /** Node B: another data directory on the same bucket, with every get counted (and held at {@link #release} when downloads should overlap). */
  private Artifacts nodeB() throws IOException {
    return new Artifacts(nodeBDir(), counted, 1L << 30);
  }

  @Test
  void publishedArtifactsAreInTheBucketUnderTheirLocalNamesWithTheSealLast() throws Exception {
    String img = imageA.getParent().getFileName().toString();
    String snap = snapshotA.getFileName().toString();
    assertEquals(List.of(new ObjectKey("images/" + img + "/rootfs.ext4")), bucket.listAll("images/"));
    // The disk's parent record travels with it: the other node builds its chain from it, not from the header.
    assertEquals(Set.of("disk.qcow2", "disk.qcow2.parent", "manifest.json", "memory", "state"),
        Set.copyOf(bucket.listAll("snapshots/" + snap + "/").stream().map(k -> k.value().substring(k.value().lastIndexOf('/') + 1)).toList()));
    FileTime manifest = Files.getLastModifiedTime(s3.file(bucketName, "snapshots/" + snap + "/manifest.json"));
    for (String f : List.of("disk.qcow2", "memory", "state")) {
      FileTime other = Files.getLastModifiedTime(s3.file(bucketName, "snapshots/" + snap + "/" + f));
      assertTrue(other.compareTo(manifest) <= 0, f + " was stored after the manifest (" + other + " > " + manifest + ")");
    }
  }

  @Test
  void anotherDataDirectoryFetchesBothAndTheSnapshotDiskFindsItsImageThere() throws Exception {
    Artifacts b = nodeB();
    Path imageB = b.local(imageA);
    Path snapshotB = b.local(snapshotA);
    assertEquals(nodeBDir().resolve("artifacts").toAbsolutePath(), imageB.getParent().getParent().getParent());
    assertFalse(Files.exists(imageB));
    AtomicBoolean sealSeenAtAdopt = new AtomicBoolean(true);

    assertTrue(b.ensureLocal(imageB, dir -> { }));
    assertTrue(b.ensureLocal(snapshotB, dir -> {
      sealSeenAtAdopt.set(Files.exists(dir.resolve("manifest.json")));
      backend.adoptImage(dir);
    }));

    assertFalse(sealSeenAtAdopt.get(), "the manifest appeared before the files were adopted");
    assertArrayEquals(Files.readAllBytes(imageA), Files.readAllBytes(imageB));
    for (String f : List.of("state", "memory", "disk.qcow2", "manifest.json")) {
      assertArrayEquals(Files.readAllBytes(snapshotA.resolve(f)), Files.readAllBytes(snapshotB.resolve(f)), f);
    }
    assertEquals(Optional.of(imageB), DiskLayers.backingOf(snapshotB.resolve("disk.qcow2")).map(p -> p.toAbsolutePath().normalize()));
    String info = CommandRunner.run(List.of("qemu-img", "info", "-U", "--backing-chain", snapshotB.resolve("disk.qcow2").toString()),
        Duration.ofSeconds(30)).stdout();
    assertTrue(info.contains("backing file: ../../images/" + imageB.getParent().getFileName() + "/rootfs.ext4"), info);
    // qemu-img opened the chain through B's directories: the base it read is B's copy.
    assertTrue(info.contains("image: " + snapshotB + "/../../images/" + imageB.getParent().getFileName() + "/rootfs.ext4\nfile format: raw"),
        "qemu-img did not open B's copy of the image:\n" + info);
    // As sparse as where it was made: 2 MiB of which 4 KiB were written.
    long allocated = Long.parseLong(CommandRunner.run(List.of("stat", "-c", "%b", imageB.toString()), Duration.ofSeconds(5)).stdout().strip()) * 512;
    assertTrue(allocated < 256 << 10, "B's copy of the image takes " + allocated + " bytes on disk");
    assertEquals(0444, mode(imageB));
    assertEquals(0444, mode(snapshotB.resolve("state")));
    assertEquals(0444, mode(snapshotB.resolve("disk.qcow2")));
    assertEquals(0400, mode(snapshotB.resolve("memory")), "root's alone: clones map its sealed copy");
    assertEquals(0444, mode(snapshotB.resolve("manifest.json")));
    // Here now: nothing more is downloaded.
    int got = counted.gets();
    assertTrue(b.ensureLocal(snapshotB, dir -> { }));
    assertEquals(got, counted.gets());
  }

  private static int mode(Path p) throws IOException {
    return (Integer) Files.getAttribute(p, "unix:mode") & 0777;
  }

  @Test
  void aCorruptedObjectIsRefusedAndTheArtifactNeverLooksWhole() throws Exception {
    String snap = snapshotA.getFileName().toString();
    Path stored = s3.file(bucketName, "snapshots/" + snap + "/memory");
    byte[] bytes = Files.readAllBytes(stored);
    bytes[1000] ^= 1;
    Files.write(stored, bytes);
    Artifacts b = nodeB();
    Path snapshotB = b.local(snapshotA);

    IOException e = assertThrows(IOException.class, () -> b.ensureLocal(snapshotB, dir -> { }));

    assertTrue(e.getMessage().contains("snapshots/" + snap + "/memory") && e.getMessage().contains("sha256"), e.getMessage());
    assertFalse(Files.exists(snapshotB.resolve("manifest.json")), "a snapshot with a refused file looks whole");
    assertFalse(Files.exists(snapshotB.resolve("memory")));
  }

  @Test
  void concurrentFetchesOfOneArtifactDownloadEachFileOnce() throws Exception {
    Artifacts b = nodeB();
    Path snapshotB = b.local(snapshotA);
    counted.hold();
    int n = 6;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      List<Future<Boolean>> fetches = new ArrayList<>();
      CountDownLatch started = new CountDownLatch(n);
      for (int i = 0; i < n; i++) {
        fetches.add(pool.submit(() -> {
          started.countDown();
          return b.ensureLocal(snapshotB, backend::adoptImage);
        }));
      }
      assertTrue(started.await(10, TimeUnit.SECONDS));
      counted.release();
      for (Future<Boolean> f : fetches) assertTrue(f.get(60, TimeUnit.SECONDS));
    } finally {
      pool.shutdownNow();
    }
    assertEquals(5, counted.gets(), "each of the snapshot's five files (the disk's parent record among them) is downloaded once");
    assertTrue(Files.isRegularFile(snapshotB.resolve("manifest.json")));
  }

  @Test
  void anArtifactTheBucketDoesNotHaveIsNotFetched() throws Exception {
    Artifacts b = nodeB();
    Path missing = b.snapshot("0123456789abcdef01234567");
    assertFalse(b.available(missing));
    assertFalse(b.ensureLocal(missing, dir -> { }));
    assertFalse(Files.exists(missing));
  }

  @Test
  void withoutAnObjectStoreNothingIsUploadedOrFetched() throws Exception {
    Artifacts local = new Artifacts(tmp.resolve("c"));
    Path b = local.building(Artifacts.Kind.IMAGE);
    Files.write(b.resolve("rootfs.ext4"), random(1000, 4));
    Path dir = local.publish(b);
    local.upload(dir);
    local.recorded(dir);
    assertFalse(local.shared());
    assertEquals(List.of(), bucket.listAll("images/" + dir.getFileName()));
    Path elsewhere = local.local(imageA);
    assertFalse(local.available(elsewhere));
    assertFalse(local.ensureLocal(elsewhere, d -> { }));
    assertThrows(java.nio.file.NoSuchFileException.class, () -> local.hold(elsewhere));
  }

  @Test
  void theSnapshotOneNodeRecordsInTheSharedDatabaseIsTheSameArtifactUnderTheOthersDataDirectory() throws Exception {
    Artifacts b = nodeB();
    try (Database db = Database.open(tmp.resolve("shared.db"))) {
      TemplateRepository rows = new TemplateRepository(db);
      rows.upsert(SnapshotPointersTest.row("t"));
      SnapshotPointers onA = new SnapshotPointers(tmp.resolve("a"), rows, a);
      SnapshotPointers onB = new SnapshotPointers(nodeBDir(), rows, b);
      assertTrue(onA.point("t", false, Optional.empty(), snapshotA));
      assertEquals(Optional.of(b.local(snapshotA)), onB.current("t", false));
      // A pointer file from before ids (the directory only) that names A's artifact, left in B's data directory: the same artifact.
      Path file = nodeBDir().resolve("templates/t/snapshot-net.json");
      Files.createDirectories(file.getParent());
      Files.writeString(file, "{\"dir\":\"" + snapshotA + "\"}");
      onB.takeOverFiles();
      assertFalse(Files.exists(file));
      assertEquals(Optional.of(b.local(snapshotA)), onB.current("t", true));
      assertEquals(Optional.of(snapshotA), onA.current("t", true));
    }
  }

  @Test
  void collectionFollowsTheRelativeBackingNameAndTheCacheMayDropOnlyWhatItFoundUnreached() throws Exception {
    Artifacts b = nodeB();
    Path imageB = b.local(imageA);
    Path snapshotB = b.local(snapshotA);
    assertTrue(b.ensureLocal(imageB, dir -> { }));
    assertTrue(b.ensureLocal(snapshotB, backend::adoptImage));
    Path other = image(b); // built on B, referenced by nothing
    assertTrue(b.inUse(other), "before any collection everything counts as used");

    // Only the snapshot is a root: its disk's relative backing name keeps the image.
    assertEquals(1, b.collect(() -> Set.of(snapshotB), DiskLayers::backingOf));

    assertTrue(Files.isRegularFile(imageB));
    assertTrue(Files.isRegularFile(snapshotB.resolve("memory")));
    assertFalse(Files.exists(other));
    assertTrue(b.inUse(imageB));
    assertTrue(b.inUse(snapshotB.resolve("memory")));
    assertFalse(b.inUse(other), "the cache may drop its copy of what collection found unreached");
    Path later = image(b); // new since that collection: not the cache's to drop
    assertTrue(b.inUse(later));
    // A pass that fails (a root's chain broken) makes everything count as used again.
    Files.delete(imageB);
    assertEquals(0, b.collect(() -> Set.of(snapshotB), DiskLayers::backingOf));
    assertTrue(b.inUse(snapshotB.resolve("memory")));
  }

  @Test
  void theLayerOfASandboxOnAFetchedSnapshotKeepsBothThroughCollection() throws Exception {
    Artifacts b = nodeB();
    Path snapshotB = b.local(snapshotA);
    assertTrue(b.ensureLocal(b.local(imageA), dir -> { }));
    assertTrue(b.ensureLocal(snapshotB, backend::adoptImage));
    DiskLayers disks = new DiskLayers(nodeBDir().resolve("disks"));
    Path layer = disks.create(new DiskBase.Layer(snapshotB.resolve("disk.qcow2")));
    disks.recorded(layer);

    assertEquals(0, b.collect(() -> Set.copyOf(disks.layers()), DiskLayers::backingOf));
    assertEquals(0, disks.collect(() -> Set.of(layer)));
    assertTrue(Files.isRegularFile(b.local(imageA)));
    assertTrue(Files.isRegularFile(snapshotB.resolve("state")));
  }

}
