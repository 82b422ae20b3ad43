package dev.kiln.bench;

import dev.kiln.blob.ArtifactCache;
import dev.kiln.blob.ObjectKey;
import dev.kiln.blob.ObjectStore;
import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * A template image pulled from a bucket as a node pulls it (through a new {@link ArtifactCache}:
 * head, download, SHA-256 check, fsync, rename), beside the floor: the same file copied on this
 * disk with read, write and fsync. Rounds alternate, so a change in the host's load touches both
 * alike. The object is put once beforehand (untimed) under a key of its own and deleted after.
 */
final class BucketPull {
  private static final int MIB = 1 << 20;
  private final ObjectStore store;
  private final String label;
  private final Path scratch;
  private final int rounds;
  private final BenchReport report;

  /** {@code label} says what the bucket is in the line ("a directory bucket"); {@code scratch} is a directory for the copies. */
  BucketPull(ObjectStore store, String label, Path scratch, int rounds, BenchReport report) {
    this.report = report;
    this.store = store;
    this.label = label;
    this.scratch = scratch;
    this.rounds = rounds;
  }

  void measure(Path image) throws Exception {
    double mib = Files.size(image) / (double) MIB;
    Stats floor = new Stats(String.format("template image (%.0f MiB) copied on local disk (floor)", mib), "MiB/s");
    Stats pull = new Stats(String.format("template image (%.0f MiB) pulled from %s", mib, label), "MiB/s");
    byte[] r = new byte[8];
    new SecureRandom().nextBytes(r);
    ObjectKey key = new ObjectKey("kiln-bench/" + HexFormat.of().formatHex(r) + "/rootfs.ext4");
    store.put(key, image);
    try {
      for (int i = 0; i < rounds; i++) {
        Path dir = Files.createDirectories(scratch.resolve("pull-" + i));
        try {
          long t0 = System.nanoTime();
          copy(image, dir.resolve("copy"));
          floor.add(mib / secs(t0));
          ArtifactCache cache = new ArtifactCache(store, dir.resolve("cache"), Long.MAX_VALUE, f -> false);
          t0 = System.nanoTime();
          try (ArtifactCache.Hold h = cache.open(key)) {
            pull.add(mib / secs(t0));
          }
        } finally {
          AtomicFiles.deleteTree(dir);
        }
      }
    } finally {
      store.delete(key);
    }
    report.line(floor);
    report.line(pull);
    report.note(String.format("ratios: bucket pull/local copy %.2f (%s)", pull.median() / floor.median(), store.describe()));
  }

  /** What a download does to the disk, without the network and the checksum: read, write, fsync. */
  private static void copy(Path from, Path to) throws IOException {
    try (InputStream in = Files.newInputStream(from); FileChannel out = FileChannel.open(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      byte[] buf = new byte[1 << 16];
      for (int n; (n = in.read(buf)) >= 0; ) {
        ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
        while (b.hasRemaining()) out.write(b);
      }
      out.force(true);
    }
  }

  private static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
