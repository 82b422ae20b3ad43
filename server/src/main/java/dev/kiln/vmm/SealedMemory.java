package dev.kiln.vmm;

import dev.kiln.host.Posix;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;

/**
 * Template snapshot RAM as clones map it: each memory file copied once into an in-memory file
 * that is then sealed for good (no write, resize or shared writable mapping by anyone, root
 * included). Every clone's QEMU opens that through {@code /proc/self/fd} and maps it private, so
 * clones still share its pages and copy only what they write. A QEMU taken over by its guest
 * cannot write to what its neighbours map; QEMU 7.2 opens a memory file read-write even to map it
 * private, so the memory file itself, which is root's alone, is never handed to one.
 *
 * <p>The copy skips pages of zeros (they stay holes, costing nothing) and hashes what it reads,
 * so the caller checks the snapshot's checksum on the very bytes clones will map.
 */
final class SealedMemory implements AutoCloseable {
  private static final int CHUNK = 1 << 16;

  /** A sealed copy: its descriptor in this process, the SHA-256 of its bytes, and what the file was when copied. */
  record Sealed(int fd, String sha256, long size, FileTime modified) {}

  /** The path a process opens to reach what its own descriptor {@code fd} is open on (QEMU: the copy it inherited). */
  static String ownDescriptor(int fd) {
    return "/proc/self/fd/" + fd;
  }

  private final Map<Path, Sealed> byFile = new HashMap<>();

  /** The sealed copy of {@code memoryFile}, made now if there is none of it as it is. */
  synchronized Sealed of(Path memoryFile) throws IOException {
    Path file = memoryFile.toAbsolutePath().normalize();
    long size = Files.size(file);
    FileTime modified = Files.getLastModifiedTime(file);
    Sealed s = byFile.get(file);
    if (s != null && s.size() == size && s.modified().equals(modified)) return s;
    if (s != null) forget(file);
    forgetGone();
    Sealed made = copy(file, size, modified);
    byFile.put(file, made);
    return made;
  }

  /** The path this daemon's copy is reached by, for a root process that opens it before becoming QEMU. */
  static String fromOutside(Sealed s) {
    return "/proc/" + ProcessHandle.current().pid() + "/fd/" + s.fd();
  }

  private static Sealed copy(Path file, long size, FileTime modified) throws IOException {
    int fd = Posix.memfdCreate("kiln-snapshot-memory");
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      Path copy = Path.of(ownDescriptor(fd));
      try (FileChannel in = FileChannel.open(file, StandardOpenOption.READ); FileChannel out = FileChannel.open(copy, StandardOpenOption.WRITE)) {
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        long pos = 0;
        while (pos < size) {
          buf.clear();
          int n = in.read(buf, pos);
          if (n <= 0) throw new IOException(file + " ended at " + pos + " of " + size + " bytes while being copied");
          buf.flip();
          sha.update(buf.duplicate());
          if (!allZero(buf)) {
            while (buf.hasRemaining()) out.write(buf, pos + buf.position());
          }
          pos += n;
        }
      }
      try (RandomAccessFile sized = new RandomAccessFile(copy.toFile(), "rw")) {
        sized.setLength(size);
      }
      Posix.sealForGood(fd);
      return new Sealed(fd, HexFormat.of().formatHex(sha.digest()), size, modified);
    } catch (IOException | NoSuchAlgorithmException | RuntimeException e) {
      Posix.close(fd);
      if (e instanceof IOException io) throw io;
      throw new IOException("cannot copy " + file + " into sealed memory: " + e.getMessage(), e);
    }
  }

  private static boolean allZero(ByteBuffer b) {
    for (int i = b.position(); i < b.limit(); i++) {
      if (b.get(i) != 0) return false;
    }
    return true;
  }

  /** Copies of files that are gone (their snapshot was collected) are let go: each holds the RAM it maps. */
  private void forgetGone() throws IOException {
    for (Iterator<Map.Entry<Path, Sealed>> it = byFile.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Path, Sealed> e = it.next();
      if (!Files.exists(e.getKey())) {
        it.remove();
        Posix.close(e.getValue().fd());
      }
    }
  }

  private void forget(Path file) throws IOException {
    Sealed s = byFile.remove(file);
    if (s != null) Posix.close(s.fd());
  }

  /** Lets go of every copy; running QEMUs keep theirs (their own descriptors hold them). */
  @Override
  public synchronized void close() throws IOException {
    for (Sealed s : byFile.values()) Posix.close(s.fd());
    byFile.clear();
  }
}
