package dev.kiln.blob;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.ObjectStoreException.Problem;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every {@link ObjectStore} promises, run against each implementation on real storage
 * (a subclass per implementation): round trips, checksums refused, nothing partial visible,
 * listing by pages, delete.
 */
abstract class ObjectStoreContract {
  /** The S3 store's part size in these tests: S3's minimum, so that a multipart file stays small. */
  static final long PART = S3ObjectStore.MIN_PART_SIZE;
  @TempDir Path tmp;
  private final List<ObjectStore> opened = new ArrayList<>();

  /** A store on fresh, empty storage, with these faults. */
  abstract ObjectStore newStore(TransferFaults faults) throws Exception;

  /** The file in which the storage behind the store keeps {@code key} of the last store made. */
  abstract Path backendFile(ObjectKey key);

  ObjectStore store(TransferFaults faults) throws Exception {
    ObjectStore s = newStore(faults);
    opened.add(s);
    return s;
  }

  ObjectStore store() throws Exception {
    return store(TransferFaults.NONE);
  }

  @AfterEach
  void closeStores() {
    opened.forEach(ObjectStore::close);
  }

  /** A file of {@code size} seeded random bytes. */
  Path file(String name, long size, long seed) throws IOException {
    byte[] b = new byte[(int) size];
    new Random(seed).nextBytes(b);
    return Files.write(tmp.resolve(name), b);
  }

  static String sha256(Path f) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
  }

  static List<Path> leftovers(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".") && Files.isRegularFile(p)).toList();
    }
  }

  private void roundTrip(long size) throws Exception {
    ObjectStore s = store();
    Path src = file("src", size, size);
    ObjectKey key = new ObjectKey("images/abc123/rootfs.ext4");
    ObjectInfo put = s.put(key, src);
    assertEquals(new ObjectInfo(key, size, sha256(src)), put);
    assertEquals(Optional.of(put), s.head(key));
    Path out = tmp.resolve("out/rootfs.ext4");
    assertEquals(put, s.get(key, out));
    assertArrayEquals(Files.readAllBytes(src), Files.readAllBytes(out));
    assertEquals(List.of(), leftovers(tmp.resolve("out")));
  }

  @Test
  void aSmallFileComesBackAsItWasPut() throws Exception {
    roundTrip(10_000);
  }

  @Test
  void aFileOfSeveralPartsComesBackAsItWasPut() throws Exception {
    roundTrip(2 * PART + 12_345);
  }

  @Test
  void anEmptyFileComesBackEmpty() throws Exception {
    roundTrip(0);
  }

  @Test
  void aSecondPutReplacesTheObjectAndAGetReplacesTheTarget() throws Exception {
    ObjectStore s = store();
    ObjectKey key = new ObjectKey("manifests/m.json");
    s.put(key, file("one", 100, 1));
    Path two = file("two", 200, 2);
    assertEquals(new ObjectInfo(key, 200, sha256(two)), s.put(key, two));
    Path out = file("out", 50, 3);
    s.get(key, out);
    assertArrayEquals(Files.readAllBytes(two), Files.readAllBytes(out));
  }

  @Test
  void anObjectChangedBehindTheStoresBackIsRefusedAndLeavesNoFile() throws Exception {
    ObjectStore s = store();
    ObjectKey key = new ObjectKey("snapshots/s1/memory");
    s.put(key, file("src", 50_000, 7));
    try (RandomAccessFile f = new RandomAccessFile(backendFile(key).toFile(), "rw")) {
      f.seek(1234);
      int b = f.read();
      f.seek(1234);
      f.write(b ^ 0xff);
    }
    Path out = tmp.resolve("out/memory");
    var e = assertThrows(ObjectStoreException.class, () -> s.get(key, out));
    assertEquals(Problem.CORRUPT, e.problem());
    assertTrue(e.getMessage().matches("object snapshots/s1/memory in .* has sha256 [0-9a-f]{64}, but was put with sha256 [0-9a-f]{64}; refusing it"), e.getMessage());
    assertFalse(Files.exists(out));
    assertEquals(List.of(), leftovers(tmp.resolve("out")));
  }

  @Test
  void aDownloadCutOffLeavesNoPartialFile() throws Exception {
    TransferFaults cut = new TransferFaults() {
      @Override
      public InputStream received(InputStream body) {
        return new CutAfter(body, 100_000);
      }
    };
    ObjectStore s = store(cut);
    ObjectKey key = new ObjectKey("images/cut/rootfs.ext4");
    s.put(key, file("src", 300_000, 3));
    Path out = tmp.resolve("out/rootfs.ext4");
    var e = assertThrows(ObjectStoreException.class, () -> s.get(key, out));
    assertEquals(Problem.UNREACHABLE, e.problem());
    assertTrue(e.getMessage().contains("was cut off after 100000 of 300000 bytes"), e.getMessage());
    assertFalse(Files.exists(out));
    assertEquals(List.of(), leftovers(tmp.resolve("out")));
  }

  @Test
  void aMissingKeyIsNotFound() throws Exception {
    ObjectStore s = store();
    ObjectKey key = new ObjectKey("images/none/rootfs.ext4");
    assertEquals(Optional.empty(), s.head(key));
    var e = assertThrows(ObjectStoreException.class, () -> s.get(key, tmp.resolve("x")));
    assertEquals(Problem.NOT_FOUND, e.problem());
    assertTrue(e.getMessage().contains("images/none/rootfs.ext4"), e.getMessage());
    assertFalse(Files.exists(tmp.resolve("x")));
  }

  @Test
  void listingComesInPagesInKeyOrder() throws Exception {
    ObjectStore s = store();
    Path src = file("src", 10, 1);
    List<ObjectKey> want = new ArrayList<>();
    for (int i = 6; i >= 0; i--) {
      ObjectKey k = new ObjectKey("images/id" + i + "/rootfs.ext4");
      s.put(k, src);
      want.addFirst(k);
    }
    s.put(new ObjectKey("snapshots/x/memory"), src);
    s.put(new ObjectKey("imagesque"), src);
    List<Integer> sizes = new ArrayList<>();
    List<ObjectKey> got = new ArrayList<>();
    Optional<String> token = Optional.empty();
    do {
      ObjectStore.Page p = s.list("images/", token, 3);
      sizes.add(p.keys().size());
      got.addAll(p.keys());
      token = p.next();
    } while (token.isPresent() && sizes.size() < 10);
    assertEquals(want, got);
    // A page holds at most the size asked for; S3 lets a store return fewer (s3proxy's filesystem backend counts directories).
    assertTrue(sizes.size() >= 3 && sizes.stream().allMatch(n -> n <= 3), "page sizes " + sizes);
    assertEquals(want, s.listAll("images/"));
    assertEquals(List.of(new ObjectKey("images/id3/rootfs.ext4")), s.listAll("images/id3"));
    assertEquals(9, s.listAll("").size());
  }

  @Test
  void deleteRemovesTheObjectAndAMissingOneIsNoError() throws Exception {
    ObjectStore s = store();
    ObjectKey key = new ObjectKey("images/d/rootfs.ext4");
    s.put(key, file("src", 10, 1));
    s.delete(key);
    assertEquals(Optional.empty(), s.head(key));
    assertEquals(List.of(), s.listAll("images/"));
    s.delete(key);
  }

  @Test
  void aStoreThatIsThereChecksOut() throws Exception {
    store().check();
  }

  /** Test double for a fault: a body whose connection drops after {@code limit} bytes. */
  static final class CutAfter extends FilterInputStream {
    private long left;

    CutAfter(InputStream in, long limit) {
      super(in);
      left = limit;
    }

    @Override
    public int read() throws IOException {
      if (left-- <= 0) throw new IOException("connection reset (injected)");
      return super.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (left <= 0) throw new IOException("connection reset (injected)");
      int n = super.read(b, off, (int) Math.min(len, left));
      if (n > 0) left -= n;
      return n;
    }
  }
}
