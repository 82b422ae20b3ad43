package dev.kiln.blob;

import dev.kiln.blob.ObjectStoreException.Problem;
import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The one way a downloaded object becomes a file: written under {@code .<name>.part-<random>}
 * beside the target (sparse: runs of zeros are left as holes), its size and SHA-256 compared with
 * what was recorded at put, fsynced, then renamed over the target. The temp file is removed on every failure; one left by a crash has a
 * dot name no key can have, and whoever owns the directory sweeps it ({@link #isLeftover}).
 */
final class VerifiedWrite {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String PART = ".part-";

  private VerifiedWrite() {}

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  private static boolean zeros(byte[] buf, int n) {
    for (int i = 0; i < n; i++) if (buf[i] != 0) return false;
    return true;
  }

  /** A temporary name beside {@code target} that no key can have. */
  static Path tempBeside(Path target) {
    byte[] r = new byte[6];
    RANDOM.nextBytes(r);
    return target.resolveSibling("." + target.getFileName() + PART + HexFormat.of().formatHex(r));
  }

  /** A file a crash left while writing beside a target. */
  static boolean isLeftover(Path p) {
    String n = p.getFileName().toString();
    return n.startsWith(".") && n.contains(PART);
  }

  /**
   * Writes {@code body} to {@code target} as described above; {@code store} names the store in
   * messages. Reading {@code body} failing is the store's problem (cut off), writing the target's.
   */
  static ObjectInfo write(InputStream body, Path target, ObjectInfo expected, String store) {
    Path temp = tempBeside(target);
    MessageDigest sha = sha256();
    long received = 0;
    try {
      Files.createDirectories(target.toAbsolutePath().getParent());
      try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        byte[] buf = new byte[1 << 16];
        while (true) {
          int n;
          try {
            n = body.read(buf);
          } catch (IOException e) {
            throw new ObjectStoreException(Problem.UNREACHABLE, "download of " + expected.key() + " from " + store + " was cut off after "
                + received + " of " + expected.size() + " bytes: " + Messages.of(e), e);
          }
          if (n < 0) break;
          sha.update(buf, 0, n);
          received += n;
          if (received > expected.size()) break;
          // Zeros are left as a hole: template images and RAM files are mostly unwritten, and stay as sparse here as where they were made.
          if (zeros(buf, n)) continue;
          ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
          long at = received - n;
          while (b.hasRemaining()) at += out.write(b, at);
        }
        if (received == expected.size() && out.size() < received) out.write(ByteBuffer.allocate(1), received - 1); // a trailing hole
        if (received != expected.size()) {
          throw new ObjectStoreException(Problem.CORRUPT, "object " + expected.key() + " in " + store + " has "
              + (received > expected.size() ? "more than " + expected.size() : received) + " bytes, but was put with " + expected.size()
              + "; refusing it");
        }
        String got = ObjectInfo.hex(sha.digest());
        if (!got.equals(expected.sha256())) {
          throw new ObjectStoreException(Problem.CORRUPT, "object " + expected.key() + " in " + store + " has sha256 " + got
              + ", but was put with sha256 " + expected.sha256() + "; refusing it");
        }
        out.force(true);
      }
      AtomicFiles.moveDurably(temp, target);
      return expected;
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.LOCAL_FILE, "cannot write " + target + " (object " + expected.key() + " from " + store + "): "
          + Messages.of(e), e);
    } finally {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException e) {
        // The dot name keeps it invisible; the directory's owner sweeps it.
      }
    }
  }
}
