package dev.kiln.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.ObjectStoreException.Problem;
import dev.kiln.config.ObjectStoreConfig;
import dev.kiln.fixtures.LocalS3;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The contract on a real S3 server (s3proxy), and what only a bucket can get wrong. */
@ExtendWith(LocalS3.Extension.class)
class S3ObjectStoreTest extends ObjectStoreContract {
  private static LocalS3 s3;
  private String bucket;

  @BeforeAll
  static void server(LocalS3 server) {
    s3 = server;
  }

  @Override
  ObjectStore newStore(TransferFaults faults) {
    bucket = s3.newBucket();
    return ObjectStores.s3(s3.config(bucket), PART, faults);
  }

  @Override
  Path backendFile(ObjectKey key) {
    return s3.file(bucket, key.value());
  }

  private static void assertInUserTerms(String message) {
    assertFalse(message.matches("(?s).*\\b(software\\.amazon|java\\.|Exception\\b|Sdk[A-Z]).*"), "no Java or SDK names: " + message);
  }

  private List<Path> filesInBucket() throws IOException {
    try (Stream<Path> s = Files.walk(s3.bucketDir(bucket))) {
      return s.filter(Files::isRegularFile).toList();
    }
  }

  @Test
  void aFailedMultipartUploadIsAbortedAndLeavesNoObject() throws Exception {
    TransferFaults failAfterFirstPart = new TransferFaults() {
      @Override
      public void partSent(int number) throws IOException {
        throw new IOException("disk read failed (injected)");
      }
    };
    ObjectStore s = store(failAfterFirstPart);
    ObjectKey key = new ObjectKey("images/big/rootfs.ext4");
    var e = assertThrows(ObjectStoreException.class, () -> s.put(key, file("src", 2 * PART + 1, 5)));
    assertTrue(e.getMessage().contains("disk read failed (injected)"), e.getMessage());
    assertEquals(Optional.empty(), s.head(key));
    assertEquals(List.of(), s.listAll(""));
    assertEquals(List.of(), filesInBucket(), "the aborted upload's parts are gone too");
  }

  @Test
  void aFileThatChangesDuringItsUploadIsRefusedAndNothingIsStored() throws Exception {
    Path src = file("src", 2 * PART + 1, 6);
    TransferFaults changeTheFile = new TransferFaults() {
      @Override
      public void partSent(int number) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(src.toFile(), "rw")) {
          f.seek(PART + 10);
          f.write(0x55 ^ f.read());
        }
      }
    };
    ObjectStore s = store(changeTheFile);
    ObjectKey key = new ObjectKey("images/changing/rootfs.ext4");
    var e = assertThrows(ObjectStoreException.class, () -> s.put(key, src));
    assertEquals(Problem.LOCAL_FILE, e.problem());
    assertTrue(e.getMessage().contains(src + " changed while it was uploaded; nothing was stored"), e.getMessage());
    assertEquals(Optional.empty(), s.head(key));
    assertEquals(List.of(), filesInBucket());
  }

  /** Test double for a fault: the daemon dies after a part was sent (nothing of this process runs after it: no abort). */
  static final class Crash extends Error {
    Crash() {
      super("the daemon died here (injected)");
    }
  }

  /** Counts the parts sent and crashes after part {@code crashAfter} (0: never). */
  static final class Parts implements TransferFaults {
    final java.util.List<Integer> sent = new java.util.ArrayList<>();
    final int crashAfter;

    Parts(int crashAfter) {
      this.crashAfter = crashAfter;
    }

    @Override
    public void partSent(int number) {
      sent.add(number);
      if (number == crashAfter) throw new Crash();
    }
  }

  @Test
  void anUploadACrashLeftIsResumedByTheNextPutOfTheKey() throws Exception {
    Path src = file("src", 2 * PART + 1, 8);
    ObjectKey key = new ObjectKey("snapshots/s/memory");
    assertThrows(Crash.class, () -> store(new Parts(2)).put(key, src));
    Parts sent = new Parts(0);
    try (ObjectStore s = ObjectStores.s3(s3.config(bucket), PART, sent)) {
      assertEquals(Optional.empty(), s.head(key), "a crashed upload is not an object");
      s.put(key, src);
      assertEquals(List.of(3), sent.sent, "parts 1 and 2 were there");
      Path out = tmp.resolve("out");
      s.get(key, out);
      assertEquals(sha256(src), sha256(out));
    }
    assertEquals(List.of(key.value()), filesInBucket().stream().map(p -> s3.bucketDir(bucket).relativize(p).toString()).toList(),
        "no parts left over");
  }

  @Test
  void aLeftUploadOfOtherContentIsNotResumedIntoAWrongObject() throws Exception {
    Path first = file("first", 2 * PART + 1, 9);
    ObjectKey key = new ObjectKey("snapshots/t/memory");
    assertThrows(Crash.class, () -> store(new Parts(1)).put(key, first));
    // The same first part, other bytes after it: part 1 is reused, but the checksum recorded by the first attempt is not this file's.
    Path second = tmp.resolve("second");
    Files.copy(first, second);
    try (RandomAccessFile f = new RandomAccessFile(second.toFile(), "rw")) {
      f.seek(2 * PART - 5);
      f.write(new byte[] {1, 2, 3, 4, 5});
    }
    Parts sent = new Parts(0);
    try (ObjectStore s = ObjectStores.s3(s3.config(bucket), PART, sent)) {
      ObjectInfo put = s.put(key, second);
      assertEquals(List.of(2, 3, 1, 2, 3), sent.sent, "resumed, found the first attempt's checksum, uploaded again whole");
      assertEquals(Optional.of(put), s.head(key));
      Path out = tmp.resolve("out");
      s.get(key, out);
      assertEquals(sha256(second), sha256(out));
    }
  }

  @Test
  void aLeftUploadWhosePartsDifferIsAbortedAndTheFileSentWhole() throws Exception {
    ObjectKey key = new ObjectKey("snapshots/u/memory");
    assertThrows(Crash.class, () -> store(new Parts(1)).put(key, file("old", 2 * PART + 1, 10)));
    Parts sent = new Parts(0);
    try (ObjectStore s = ObjectStores.s3(s3.config(bucket), PART, sent)) {
      Path src = file("new", 2 * PART + 1, 11);
      s.put(key, src);
      assertEquals(List.of(1, 2, 3), sent.sent);
      Path out = tmp.resolve("out");
      s.get(key, out);
      assertEquals(sha256(src), sha256(out));
    }
    assertEquals(1, filesInBucket().size(), "the old upload's part is gone");
  }

  @Test
  void wrongCredentialsAreAccessDeniedInUserTerms() throws Exception {
    String b = s3.newBucket();
    Path wrong = LocalS3.credentialsFile(tmp.resolve("wrong"), LocalS3.ACCESS_KEY, "not-the-secret");
    try (ObjectStore s = ObjectStores.open(s3.config(b, wrong))) {
      var e = assertThrows(ObjectStoreException.class, s::check);
      assertEquals(Problem.ACCESS_DENIED, e.problem());
      assertTrue(e.getMessage().startsWith(s3.endpoint() + " refused access to bucket '" + b + "'"), e.getMessage());
      assertInUserTerms(e.getMessage());
      var put = assertThrows(ObjectStoreException.class, () -> s.put(new ObjectKey("a"), file("src", 10, 1)));
      assertEquals(Problem.ACCESS_DENIED, put.problem(), put.getMessage());
      assertTrue(put.getMessage().contains("the secret key does not match the access key id"), put.getMessage());
    }
    Path unknown = LocalS3.credentialsFile(tmp.resolve("unknown"), "nobody", "x");
    try (ObjectStore s = ObjectStores.open(s3.config(b, unknown))) {
      var e = assertThrows(ObjectStoreException.class, () -> s.put(new ObjectKey("a"), file("src", 10, 1)));
      assertEquals(Problem.ACCESS_DENIED, e.problem());
      assertTrue(e.getMessage().contains("the access key id is not known there"), e.getMessage());
    }
  }

  @Test
  void anUnreachableEndpointIsNamedInTheError() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    String url = "http://127.0.0.1:" + port;
    ObjectStoreConfig c = s3.config("kiln-nowhere");
    try (ObjectStore s = ObjectStores.open(new ObjectStoreConfig(c.bucket(), url, null, null, null, c.credentialsFile(), 0, null))) {
      var e = assertThrows(ObjectStoreException.class, s::check);
      assertEquals(Problem.UNREACHABLE, e.problem());
      assertTrue(e.getMessage().startsWith("object store at " + url + " cannot be reached (connection refused)"), e.getMessage());
      assertInUserTerms(e.getMessage());
    }
  }

  @Test
  void aMissingBucketIsNamed() throws Exception {
    try (ObjectStore s = ObjectStores.open(s3.config("kiln-no-such-bucket"))) {
      var e = assertThrows(ObjectStoreException.class, s::check);
      assertEquals(Problem.BUCKET_MISSING, e.problem());
      assertEquals("bucket 'kiln-no-such-bucket' does not exist at " + s3.endpoint(), e.getMessage());
      var get = assertThrows(ObjectStoreException.class, () -> s.get(new ObjectKey("a"), tmp.resolve("a")));
      assertEquals(Problem.BUCKET_MISSING, get.problem());
    }
  }

  @Test
  void aMissingCredentialsFileIsNamed() {
    Path none = tmp.resolve("no-credentials");
    var e = assertThrows(ObjectStoreException.class, () -> ObjectStores.open(s3.config("kiln-b", none)));
    assertEquals("the object store's credentials file " + none + " does not exist (objectStore.credentialsFile)", e.getMessage());
  }

  @Test
  void aPrefixKeepsKeysApartInOneBucket() throws Exception {
    String b = s3.newBucket();
    ObjectStoreConfig c = s3.config(b);
    try (ObjectStore one = ObjectStores.open(new ObjectStoreConfig(b, c.endpoint(), null, "cluster-a/", null, c.credentialsFile(), 0, null));
        ObjectStore two = ObjectStores.open(new ObjectStoreConfig(b, c.endpoint(), null, "cluster-b/", null, c.credentialsFile(), 0, null))) {
      ObjectKey key = new ObjectKey("images/x/rootfs.ext4");
      one.put(key, file("src", 10, 1));
      assertEquals(List.of(key), one.listAll(""));
      assertEquals(List.of(), two.listAll(""));
      assertTrue(Files.isRegularFile(s3.file(b, "cluster-a/images/x/rootfs.ext4")));
    }
  }
}
