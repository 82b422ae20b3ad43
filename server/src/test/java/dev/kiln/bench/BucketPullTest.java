package dev.kiln.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.LocalObjectStore;
import dev.kiln.blob.ObjectStore;
import dev.kiln.blob.ObjectStores;
import dev.kiln.fixtures.LocalS3;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The bench's template pull line, on a real directory bucket or a real S3 server (s3proxy), and a real file. */
@ExtendWith(LocalS3.Extension.class)
class BucketPullTest {
  @TempDir Path dir;

  private Path image() throws Exception {
    Path image = dir.resolve("rootfs.ext4");
    byte[] data = new byte[4 << 20];
    new Random(1).nextBytes(data);
    return Files.write(image, data);
  }

  @Test
  void timesThePullThroughANodeCacheBesideALocalCopyAndLeavesNothingInTheBucket() throws Exception {
    Path image = image();
    Path scratch = Files.createDirectories(dir.resolve("scratch"));
    try (LocalObjectStore bucket = new LocalObjectStore(dir.resolve("bucket"))) {
      bucket.check();
      String out = Printed.by(() -> new BucketPull(bucket, "a directory bucket", scratch, 2, BenchReport.text()).measure(image));
      assertTrue(Pattern.compile("template image \\(4 MiB\\) copied on local disk \\(floor\\)\\s+median\\s+[0-9.]+ MiB/s \\(n=2,").matcher(out).find(), out);
      assertTrue(Pattern.compile("template image \\(4 MiB\\) pulled from a directory bucket\\s+median\\s+[0-9.]+ MiB/s \\(n=2,").matcher(out).find(), out);
      assertTrue(Pattern.compile("ratios: bucket pull/local copy [0-9.]+ \\(directory .*bucket\\)").matcher(out).find(), out);
      assertEquals(List.of(), bucket.listAll(""), "the bench's object is deleted after");
    }
    try (var left = Files.list(scratch)) {
      assertEquals(List.of(), left.toList(), "copies and caches are removed");
    }
  }

  @Test
  void aBucketOfAnS3StoreIsPulledFromTheSameWay(LocalS3 s3) throws Exception {
    Path image = image();
    String name = s3.newBucket();
    try (ObjectStore bucket = ObjectStores.open(s3.config(name))) {
      bucket.check();
      String out = Printed.by(() -> new BucketPull(bucket, "the bucket", dir, 1, BenchReport.text()).measure(image));
      assertTrue(Pattern.compile("template image \\(4 MiB\\) pulled from the bucket\\s+median\\s+[0-9.]+ MiB/s \\(n=1,").matcher(out).find(), out);
      assertTrue(out.contains("ratios: bucket pull/local copy ") && out.contains("bucket '" + name + "'"), out);
      assertEquals(List.of(), bucket.listAll(""), "the bench's object is deleted after");
    }
  }
}
