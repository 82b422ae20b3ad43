package dev.kiln.cli;

import dev.kiln.build.DockerIgnore;
import java.io.IOException;
import java.io.InputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * A build context as the tar the daemon takes, written while it is sent: the directory's files,
 * directories and symbolic links (what .dockerignore leaves; the daemon applies it again), with
 * the Dockerfile added under {@link #OUTSIDE_DOCKERFILE} when it lies outside the context.
 */
final class ContextArchive {
  /** Where a Dockerfile from outside the context goes in the tar. */
  static final String OUTSIDE_DOCKERFILE = ".kiln-dockerfile";
  private final Path dir;
  private final Path dockerfile;
  private final AtomicReference<IOException> failure = new AtomicReference<>();

  ContextArchive(Path dir, Path dockerfile) {
    this.dir = dir.toAbsolutePath().normalize();
    this.dockerfile = dockerfile.toAbsolutePath().normalize();
  }

  /** The Dockerfile's path in the tar. */
  String dockerfileName() {
    return dockerfile.startsWith(dir) ? dir.relativize(dockerfile).toString() : OUTSIDE_DOCKERFILE;
  }

  /** The tar as a stream, written by a thread of its own as it is read. */
  InputStream open() {
    PipedInputStream in = new PipedInputStream(1 << 16);
    PipedOutputStream out;
    try {
      out = new PipedOutputStream(in);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Thread.ofVirtual().name("context-tar").start(() -> {
      try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        write(tar);
      } catch (IOException e) {
        failure.set(e);
      }
    });
    return in;
  }

  /** Why the tar could not be written, if it could not (the upload then fails too). */
  IOException failure() {
    return failure.get();
  }

  /** Permission bits as the tar header keeps them (the file's own, so an executable stays one). */
  private static int mode(Path p) throws IOException {
    int mode = 0;
    for (java.nio.file.attribute.PosixFilePermission perm : Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)) mode |= 1 << (8 - perm.ordinal());
    return mode;
  }

  private void write(TarArchiveOutputStream tar) throws IOException {
    Path ignoreFile = dir.resolve(".dockerignore");
    DockerIgnore ignore = Files.isRegularFile(ignoreFile) ? DockerIgnore.parse(Files.readString(ignoreFile)) : DockerIgnore.NONE;
    List<Path> all;
    try (Stream<Path> s = Files.walk(dir)) {
      all = s.sorted().toList();
    }
    for (Path p : all) {
      String rel = dir.relativize(p).toString();
      if (rel.isEmpty() || ignore.excludes(rel) && !p.equals(dockerfile) && !rel.equals(".dockerignore")) continue;
      if (Files.isSymbolicLink(p)) {
        TarArchiveEntry e = new TarArchiveEntry(rel, TarArchiveEntry.LF_SYMLINK);
        e.setLinkName(Files.readSymbolicLink(p).toString());
        tar.putArchiveEntry(e);
      } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
        TarArchiveEntry e = new TarArchiveEntry(p.toFile(), rel + "/");
        e.setMode(TarArchiveEntry.DEFAULT_DIR_MODE & ~07777 | mode(p));
        tar.putArchiveEntry(e);
      } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
        TarArchiveEntry e = new TarArchiveEntry(p.toFile(), rel);
        e.setMode(TarArchiveEntry.DEFAULT_FILE_MODE & ~07777 | mode(p));
        tar.putArchiveEntry(e);
        Files.copy(p, tar);
      } else {
        continue; // sockets, FIFOs and devices are no build's content
      }
      tar.closeArchiveEntry();
    }
    if (!dockerfile.startsWith(dir)) {
      tar.putArchiveEntry(new TarArchiveEntry(dockerfile.toFile(), OUTSIDE_DOCKERFILE));
      Files.copy(dockerfile, tar);
      tar.closeArchiveEntry();
    }
  }
}
