package dev.kiln.blob;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.ObjectStoreException.Problem;
import dev.kiln.fixtures.CountedObjectStore;
import dev.kiln.fixtures.LocalS3;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The node cache on a real S3 server: one download per key, holds respected, nothing partial visible. */
@ExtendWith(LocalS3.Extension.class)
class ArtifactCacheTest {
  private static final long SIZE = 300_000;
  private static LocalS3 s3;
  @TempDir Path tmp;
  private S3ObjectStore bucket;
  private CountedObjectStore counted;
  private volatile long cutAfter = -1;

  @BeforeAll
  static void server(LocalS3 server) {
    s3 = server;
  }

  @BeforeEach
  void bucket() {
    TransferFaults faults = new TransferFaults() {
      @Override
      public InputStream received(InputStream body) {
        return cutAfter < 0 ? body : new ObjectStoreContract.CutAfter(body, cutAfter);
      }
    };
    bucket = ObjectStores.s3(s3.config(s3.newBucket()), ObjectStoreContract.PART, faults);
    counted = new CountedObjectStore(bucket);
  }

  @AfterEach
  void close() {
    bucket.close();
  }

  private ObjectKey upload(String name, long seed) throws IOException {
    byte[] b = new byte[(int) SIZE];
    new Random(seed).nextBytes(b);
    ObjectKey key = new ObjectKey("images/" + name + "/rootfs.ext4");
    bucket.put(key, Files.write(tmp.resolve(name), b));
    return key;
  }

  private ArtifactCache cache(long maxBytes, ArtifactCache.InUse inUse) throws IOException {
    return new ArtifactCache(counted, tmp.resolve("cache"), maxBytes, inUse);
  }

  @Test
  void concurrentOpensOfOneKeyShareOneDownload() throws Exception {
    ObjectKey key = upload("shared", 1);
    ArtifactCache cache = cache(10 * SIZE, f -> false);
    counted.hold();
    int n = 8;
    ExecutorService pool = Executors.newFixedThreadPool(n);
    Set<Thread> threads = ConcurrentHashMap.newKeySet();
    try {
      List<Future<ArtifactCache.Hold>> opens = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        opens.add(pool.submit(() -> {
          threads.add(Thread.currentThread());
          return cache.open(key);
        }));
      }
      counted.awaitGet();
      // Every other thread is parked on the one download before it may finish.
      await().atMost(Duration.ofSeconds(10)).until(() -> threads.size() == n && threads.stream().allMatch(t -> t.getState() == Thread.State.WAITING));
      assertFalse(Files.exists(cache.path(key)), "nothing is visible before the download ends");
      counted.release();
      for (Future<ArtifactCache.Hold> f : opens) {
        try (ArtifactCache.Hold h = f.get()) {
          assertEquals(cache.path(key), h.path());
          assertArrayEquals(Files.readAllBytes(tmp.resolve("shared")), Files.readAllBytes(h.path()));
        }
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(1, counted.gets(), "one download for " + n + " concurrent opens");
    cache.open(key).close();
    assertEquals(1, counted.gets(), "a cached copy is not fetched again");
  }

  @Test
  void theLeastRecentlyUsedCopyNothingHoldsIsEvictedFirst() throws Exception {
    ObjectKey a = upload("a", 1);
    ObjectKey b = upload("b", 2);
    ObjectKey c = upload("c", 3);
    ArtifactCache cache = cache(2 * SIZE + SIZE / 2, f -> false);
    try (ArtifactCache.Hold held = cache.open(a)) {
      cache.open(b).close();
      cache.open(c).close();
      assertTrue(Files.exists(cache.path(a)), "a is the oldest but held");
      assertFalse(Files.exists(cache.path(b)), "b was the least recently used copy nothing held");
      assertTrue(Files.exists(cache.path(c)));
      assertEquals(2 * SIZE, cache.bytes());
    }
    cache.open(b).close();
    assertFalse(Files.exists(cache.path(a)), "released, a is now the least recently used");
    assertTrue(Files.exists(cache.path(c)) && Files.exists(cache.path(b)));
    assertEquals(4, counted.gets());
  }

  @Test
  void aCopyInUseIsKeptAndAFailingInUseCheckRemovesNothing() throws Exception {
    ObjectKey a = upload("a", 1);
    ObjectKey b = upload("b", 2);
    ObjectKey c = upload("c", 3);
    ArtifactCache cache = cache(SIZE + SIZE / 2, f -> f.toString().contains("/images/a/"));
    cache.open(a).close();
    cache.open(b).close();
    assertTrue(Files.exists(cache.path(a)), "a is in use by something the cache does not hold");
    assertFalse(Files.exists(cache.path(b)), "b, released, was the only copy that could go to keep the limit");
    assertEquals(SIZE, cache.bytes());

    ArtifactCache failing = new ArtifactCache(counted, tmp.resolve("cache2"), SIZE + SIZE / 2, f -> {
      throw new IOException("cannot read the disk layers (injected)");
    });
    failing.open(b).close();
    failing.open(c).close();
    assertTrue(Files.exists(failing.path(b)) && Files.exists(failing.path(c)), "an unexplained failure removes nothing");
  }

  @Test
  void aDownloadCutOffLeavesNothingVisibleAndTheNextOpenFetchesAgain() throws Exception {
    ObjectKey key = upload("cut", 4);
    ArtifactCache cache = cache(10 * SIZE, f -> false);
    cutAfter = SIZE / 3;
    var e = assertThrows(ObjectStoreException.class, () -> cache.open(key));
    assertEquals(Problem.UNREACHABLE, e.problem());
    assertFalse(Files.exists(cache.path(key)));
    assertEquals(List.of(), ObjectStoreContract.leftovers(tmp.resolve("cache")));
    assertEquals(0, cache.bytes());
    cutAfter = -1;
    try (ArtifactCache.Hold h = cache.open(key)) {
      assertEquals(SIZE, Files.size(h.path()));
    }
    assertEquals(2, counted.gets());
  }

  @Test
  void reopeningKeepsVerifiedCopiesAndSweepsWhatACrashLeft() throws Exception {
    ObjectKey key = upload("kept", 5);
    cache(10 * SIZE, f -> false).open(key).close();
    // What a crash in the middle of a download leaves: a dot-named part file beside the target.
    Path crashed = tmp.resolve("cache/images/other/.rootfs.ext4.part-0123456789ab");
    Files.createDirectories(crashed.getParent());
    Files.write(crashed, new byte[1000]);
    ArtifactCache again = cache(10 * SIZE, f -> false);
    assertFalse(Files.exists(crashed));
    assertEquals(SIZE, again.bytes());
    again.open(key).close();
    assertEquals(1, counted.gets(), "the copy from before is used as it is");
  }

  @Test
  void aMissingObjectIsNotFound() throws Exception {
    ArtifactCache cache = cache(10 * SIZE, f -> false);
    var e = assertThrows(ObjectStoreException.class, () -> cache.open(new ObjectKey("images/none/rootfs.ext4")));
    assertEquals(Problem.NOT_FOUND, e.problem());
    assertEquals(0, counted.gets());
  }

  @Test
  void openersWaitingOnAFailedDownloadGetItsFailureWithoutDownloadingAgain() throws Exception {
    ObjectKey key = upload("fails", 6);
    ArtifactCache cache = cache(10 * SIZE, f -> false);
    cutAfter = 1000;
    counted.hold();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    Set<Thread> threads = ConcurrentHashMap.newKeySet();
    try {
      List<Future<ArtifactCache.Hold>> opens = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        opens.add(pool.submit(() -> {
          threads.add(Thread.currentThread());
          return cache.open(key);
        }));
      }
      counted.awaitGet();
      await().atMost(Duration.ofSeconds(10)).until(() -> threads.size() == 3 && threads.stream().allMatch(t -> t.getState() == Thread.State.WAITING));
      counted.release();
      for (Future<ArtifactCache.Hold> f : opens) {
        var e = assertThrows(java.util.concurrent.ExecutionException.class, f::get);
        assertEquals(Problem.UNREACHABLE, ((ObjectStoreException) e.getCause()).problem());
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(1, counted.gets());
  }

  @Test
  void aCopyRemovedBehindTheCachesBackIsFetchedAgain() throws Exception {
    ObjectKey key = upload("gone", 7);
    ArtifactCache cache = cache(10 * SIZE, f -> false);
    cache.open(key).close();
    Files.delete(cache.path(key));
    try (ArtifactCache.Hold h = cache.open(key)) {
      assertEquals(SIZE, Files.size(h.path()));
    }
    assertEquals(2, counted.gets());
    assertEquals(SIZE, cache.bytes());
  }
}
