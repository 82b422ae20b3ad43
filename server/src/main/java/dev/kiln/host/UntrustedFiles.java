package dev.kiln.host;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Reads files a VM could have written or put in place (its run directory is writable by its QEMU):
 * never through a link, only a regular file, and never more than asked, whatever the file's size.
 */
public final class UntrustedFiles {
  private UntrustedFiles() {}

  /** At most the last {@code max} bytes; empty if the file is missing, not a regular file, or a link. */
  public static byte[] tail(Path file, int max) {
    try (FileChannel ch = open(file)) {
      long size = ch.size();
      ByteBuffer buf = ByteBuffer.allocate((int) Math.min(size, max));
      ch.position(size - buf.capacity());
      while (buf.hasRemaining() && ch.read(buf) >= 0) {
        // until the tail is in
      }
      return Arrays.copyOf(buf.array(), buf.position());
    } catch (IOException e) {
      return new byte[0];
    }
  }

  /** At most the first {@code max} bytes, as above. */
  public static byte[] head(Path file, int max) {
    try (FileChannel ch = open(file)) {
      ByteBuffer buf = ByteBuffer.allocate(max);
      while (buf.hasRemaining() && ch.read(buf) >= 0) {
        // until full or at the end
      }
      return Arrays.copyOf(buf.array(), buf.position());
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static FileChannel open(Path file) throws IOException {
    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) throw new IOException(file + " is not a regular file");
    return FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
  }
}
