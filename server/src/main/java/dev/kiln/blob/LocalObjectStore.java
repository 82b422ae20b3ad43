package dev.kiln.blob;

import dev.kiln.blob.ObjectStoreException.Problem;
import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Objects as files under a root directory: {@code <root>/<key>}, and the SHA-256 and size recorded
 * at put in {@code <root>/.meta/<key>.sha256} ({@code "<hex> <size>\n"}). For one host, or a
 * directory every node mounts. A put writes the recorded checksum first and renames the data into
 * place last, so a key that is visible always has one; a crash in between leaves a checksum with
 * no data, which is invisible. Keys name files in a tree, so {@code a/b} and {@code a/b/c} cannot
 * both exist here (S3 allows it; Kiln's keys never do it).
 */
public final class LocalObjectStore implements ObjectStore {
  private static final String META = ".meta";
  private final Path root;
  private final TransferFaults faults;

  public LocalObjectStore(Path root) {
    this(root, TransferFaults.NONE);
  }

  LocalObjectStore(Path root, TransferFaults faults) {
    this.root = root.toAbsolutePath().normalize();
    this.faults = faults;
  }

  private Path data(ObjectKey key) {
    return root.resolve(key.value());
  }

  private Path meta(ObjectKey key) {
    return root.resolve(META).resolve(key.value() + ".sha256");
  }

  @Override
  public ObjectInfo put(ObjectKey key, Path file) {
    Path target = data(key);
    Path temp = VerifiedWrite.tempBeside(target);
    try {
      Files.createDirectories(target.getParent());
      MessageDigest sha = VerifiedWrite.sha256();
      long size = 0;
      try (InputStream in = Files.newInputStream(file); FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        byte[] buf = new byte[1 << 16];
        for (int n; (n = in.read(buf)) >= 0; ) {
          sha.update(buf, 0, n);
          size += n;
          ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
          while (b.hasRemaining()) out.write(b);
        }
        out.force(true);
      }
      // The checksum is of the bytes copied, so a file changing under the copy cannot make a wrong record.
      ObjectInfo info = new ObjectInfo(key, size, ObjectInfo.hex(sha.digest()));
      AtomicFiles.write(meta(key), (info.sha256() + " " + size + "\n").getBytes(StandardCharsets.US_ASCII));
      AtomicFiles.moveDurably(temp, target);
      return info;
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.LOCAL_FILE, "cannot put " + file + " as " + key + " in " + describe() + ": " + Messages.of(e), e);
    } finally {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException e) {
        // A dot name: invisible to every reader, and no key can take it.
      }
    }
  }

  @Override
  public ObjectInfo get(ObjectKey key, Path target) {
    ObjectInfo info = head(key).orElseThrow(() -> notFound(key));
    try (InputStream in = Files.newInputStream(data(key))) {
      return VerifiedWrite.write(faults.received(in), target, info, describe());
    } catch (NoSuchFileException e) {
      throw notFound(key);
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.FAILED, "cannot read " + key + " in " + describe() + ": " + Messages.of(e), e);
    }
  }

  private ObjectStoreException notFound(ObjectKey key) {
    return new ObjectStoreException(Problem.NOT_FOUND, "no object " + key + " in " + describe());
  }

  @Override
  public Optional<ObjectInfo> head(ObjectKey key) {
    if (!Files.isRegularFile(data(key))) return Optional.empty();
    String line;
    try {
      line = Files.readString(meta(key), StandardCharsets.US_ASCII).trim();
    } catch (NoSuchFileException e) {
      throw new ObjectStoreException(Problem.CORRUPT, "object " + key + " in " + describe() + " has no recorded checksum (not put by Kiln)");
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.FAILED, "cannot read the checksum of " + key + " in " + describe() + ": " + Messages.of(e), e);
    }
    String[] parts = line.split(" ");
    try {
      return Optional.of(new ObjectInfo(key, Long.parseLong(parts[1]), parts[0]));
    } catch (RuntimeException e) {
      throw new ObjectStoreException(Problem.CORRUPT, "the recorded checksum of " + key + " in " + describe() + " is unreadable: '" + line + "'");
    }
  }

  @Override
  public Page list(String prefix, Optional<String> token, int pageSize) {
    ObjectKey.validPrefix(prefix);
    if (pageSize < 1 || pageSize > 1000) throw new IllegalArgumentException("pageSize must be 1..1000, got " + pageSize);
    token.ifPresent(ObjectKey::new);
    List<String> keys = new ArrayList<>();
    // Only the directory the prefix's complete segments name can hold matches.
    Path start = root.resolve(prefix.contains("/") ? prefix.substring(0, prefix.lastIndexOf('/')) : "");
    if (Files.isDirectory(start)) {
      try {
        Files.walkFileTree(start, new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
            return dir.equals(start) || !dir.getFileName().toString().startsWith(".") ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
          }

          @Override
          public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
            String key = root.relativize(file).toString();
            if (attrs.isRegularFile() && !file.getFileName().toString().startsWith(".") && key.startsWith(prefix)
                && (token.isEmpty() || key.compareTo(token.get()) > 0)) {
              keys.add(key);
            }
            return FileVisitResult.CONTINUE;
          }
        });
      } catch (IOException e) {
        throw new ObjectStoreException(Problem.FAILED, "cannot list " + describe() + " under '" + prefix + "': " + Messages.of(e), e);
      }
    }
    keys.sort(null);
    List<ObjectKey> page = keys.stream().limit(pageSize).map(ObjectKey::new).toList();
    Optional<String> next = keys.size() > pageSize ? Optional.of(page.getLast().value()) : Optional.empty();
    return new Page(page, next);
  }

  @Override
  public void delete(ObjectKey key) {
    try {
      // Data first: once it is gone the object is, whatever happens to its checksum file.
      Files.deleteIfExists(data(key));
      Files.deleteIfExists(meta(key));
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.FAILED, "cannot delete " + key + " in " + describe() + ": " + Messages.of(e), e);
    }
  }

  @Override
  public void check() {
    try {
      Files.createDirectories(root.resolve(META));
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.LOCAL_FILE, "object store " + describe() + " cannot be used: " + Messages.of(e), e);
    }
    if (!Files.isWritable(root)) throw new ObjectStoreException(Problem.ACCESS_DENIED, "object store " + describe() + " is not writable");
  }

  @Override
  public String describe() {
    return "directory " + root;
  }

  @Override
  public void close() {}
}
