package dev.kiln.image;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;

/** Builds an ext4 image from a directory tree with {@code mkfs.ext4 -d}, without mounting anything. */
final class Ext4Image {
  private static final long BLOCK = 4096;
  private static final long MIB = 1 << 20;
  /** Journal, group descriptors and inode tables: a fixed allowance plus 10% of the content. */
  private static final long FIXED_OVERHEAD = 64 * MIB;

  private Ext4Image() {}

  record Size(long contentBytes, long files, long imageBytes, long inodes) {}

  /** Sizes the image to the tree's content plus {@code freeBytes} the sandbox can use. */
  static Size plan(Path tree, long freeBytes) throws IOException {
    long[] totals = new long[2];
    try (Stream<Path> walk = Files.walk(tree)) {
      walk.forEach(p -> {
        try {
          BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
          totals[0] += (a.size() + BLOCK - 1) / BLOCK * BLOCK + (a.isDirectory() ? BLOCK : 0);
          totals[1]++;
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    long image = totals[0] + totals[0] / 10 + FIXED_OVERHEAD + freeBytes;
    image = (image + MIB - 1) / MIB * MIB;
    // One inode per 16 KiB of free space (mke2fs's default ratio) on top of the existing files.
    long inodes = totals[1] + Math.max(4096, freeBytes / 16384);
    return new Size(totals[0], totals[1], image, inodes);
  }

  static void build(Path tree, Path image, Size size) {
    CommandRunner.run(List.of("mkfs.ext4", "-F", "-q", "-t", "ext4", "-b", Long.toString(BLOCK), "-m", "0",
        "-N", Long.toString(size.inodes()), "-L", "kiln-root", "-d", tree.toString(), image.toString(),
        (size.imageBytes() / 1024) + "k"), Duration.ofMinutes(10));
  }
}
