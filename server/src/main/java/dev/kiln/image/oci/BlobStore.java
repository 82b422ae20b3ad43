package dev.kiln.image.oci;

import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Content-addressed blob cache, {@code <data>/blobs/sha256/<hex>}. A blob is written as
 * {@code <hex>.partial} (kept across failures so a download can resume) and appears under its
 * digest only after its bytes hashed to it, were fsynced and renamed: whatever is found by digest
 * is complete and verified.
 */
public final class BlobStore {
  private final Path dir;
  private final ConcurrentHashMap<Digest, ReentrantLock> locks = new ConcurrentHashMap<>();

  public BlobStore(Path dataDir) {
    this.dir = dataDir.resolve("blobs").resolve("sha256");
  }

  public Optional<Path> find(Digest d) {
    Path p = dir.resolve(d.hex());
    return Files.isRegularFile(p) ? Optional.of(p) : Optional.empty();
  }

  Path partial(Digest d) throws IOException {
    Files.createDirectories(dir);
    return dir.resolve(d.hex() + ".partial");
  }

  /** Held while one blob is fetched, so two builds of images sharing a layer never interleave writes. */
  ReentrantLock lock(Digest d) {
    return locks.computeIfAbsent(d, k -> new ReentrantLock());
  }

  /**
   * Checks the finished partial file against the digest and size it must have, then makes it the
   * blob. On a mismatch the partial is deleted (resuming it could never succeed).
   */
  Path commit(Digest d, long expectedSize, MessageDigest hashed, String source) throws IOException {
    Path partial = partial(d);
    long size = Files.size(partial);
    Digest got = Digest.of(hashed);
    if (!got.equals(d) || size != expectedSize) {
      Files.deleteIfExists(partial);
      throw new RegistryException("blob " + d + " from " + source + " failed verification: got " + got + " (" + size
          + " bytes), expected " + d + " (" + expectedSize + " bytes); the download was discarded");
    }
    try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    Path blob = dir.resolve(d.hex());
    AtomicFiles.moveDurably(partial, blob);
    return blob;
  }

  /** Copies a blob from a trusted-for-nothing stream (an OCI layout on disk), verifying it on the way. */
  Path put(Digest d, long expectedSize, InputStream in, String source) throws IOException {
    ReentrantLock l = lock(d);
    l.lock();
    try {
      Optional<Path> have = find(d);
      if (have.isPresent()) return have.get();
      MessageDigest md = Digest.sha256();
      try (var out = Files.newOutputStream(partial(d))) {
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) > 0; ) {
          md.update(buf, 0, n);
          out.write(buf, 0, n);
        }
      }
      return commit(d, expectedSize, md, source);
    } finally {
      l.unlock();
    }
  }

  /** Hashes what a partial download already holds, to continue the digest where it stopped. */
  static long rehash(Path partial, MessageDigest md) throws IOException {
    if (!Files.exists(partial)) return 0;
    long n = 0;
    try (InputStream in = Files.newInputStream(partial)) {
      byte[] buf = new byte[1 << 16];
      for (int r; (r = in.read(buf)) > 0; n += r) md.update(buf, 0, r);
    }
    return n;
  }
}
