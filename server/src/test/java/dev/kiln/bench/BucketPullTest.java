package dev.kiln.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.LocalObjectStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench's template pull line, on a real directory bucket and a real file. */
class BucketPullTest {
  @TempDir Path dir;

  @Test
  void timesThePullThroughANodeCacheBesideALocalCopyAndLeavesNothingInTheBucket() throws Exception {
    Path image = dir.resolve("rootfs.ext4");
    byte[] data = new byte[4 << 20];
    new Random(1).nextBytes(data);
    Files.write(image, data);
    Path scratch = Files.createDirectories(dir.resolve("scratch"));
    try (LocalObjectStore bucket = new LocalObjectStore(dir.resolve("bucket"))) {
      bucket.check();
      String out = Printed.by(() -> new BucketPull(bucket, "a directory bucket", scratch, 2).measure(image));
      assertTrue(Pattern.compile("template image \\(4 MiB\\) copied on local disk \\(floor\\)\\s+median\\s+[0-9.]+ MiB/s \\(n=2,").matcher(out).find(), out);
      assertTrue(Pattern.compile("template image \\(4 MiB\\) pulled from a directory bucket\\s+median\\s+[0-9.]+ MiB/s \\(n=2,").matcher(out).find(), out);
      assertTrue(Pattern.compile("ratios: bucket pull/local copy [0-9.]+ \\(directory .*bucket\\)").matcher(out).find(), out);
      assertEquals(List.of(), bucket.listAll(""), "the bench's object is deleted after");
    }
    try (var left = Files.list(scratch)) {
      assertEquals(List.of(), left.toList(), "copies and caches are removed");
    }
  }
}
