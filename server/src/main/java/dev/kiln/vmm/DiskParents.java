package dev.kiln.vmm;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each qcow2 file Kiln made is built on, as the daemon recorded it when it made the file: a
 * root-only {@code <file>.parent} beside it. The backing name in a qcow2 header is written by
 * whatever wrote the file last, and a VM's top layer is written by its QEMU, which a guest that
 * escaped into it controls; so a chain is never taken from a header, only from these records
 * (docs/adr/0020). A qcow2 with no record is an error (fail closed): the daemon writes records
 * for what daemons before records left once, at start, before any VM is launched
 * ({@link #adoptLegacy}); only the code that makes a file writes its record after that, so two
 * writers never race for one.
 */
public final class DiskParents {
  private static final Logger log = LoggerFactory.getLogger(DiskParents.class);
  /** Deeper chains are refused rather than followed: a loop or a runaway would otherwise never end. */
  static final int MAX_DEPTH = 512;
  private static final int MAX_RECORD = 4096;
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  private DiskParents() {}

  /** The record of {@code file}'s parent. */
  public static Path recordOf(Path file) {
    return file.resolveSibling(file.getFileName() + ".parent");
  }

  /**
   * Records that {@code file} is built on {@code parent}, named as the header names it (relative
   * names are read against the file's directory): temp file, fsync, rename.
   */
  public static void record(Path file, String parent) throws IOException {
    Path rec = recordOf(file);
    Path tmp = rec.resolveSibling(rec.getFileName() + ".tmp-" + Long.toHexString(RANDOM.nextLong()));
    Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap(parent.getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
    Files.move(tmp, rec, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** Forgets the record of a file that is gone. */
  public static void forget(Path file) throws IOException {
    Files.deleteIfExists(recordOf(file));
  }

  /** The file {@code file} is built on, or empty for a base (a raw image, or a qcow2 on nothing). */
  public static Optional<Path> of(Path file) throws IOException {
    Path rec = recordOf(file);
    if (Files.isRegularFile(rec, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      String name;
      try {
        if (Files.size(rec) > MAX_RECORD) throw new IOException("parent record " + rec + " is implausibly long");
        name = Files.readString(rec, StandardCharsets.UTF_8);
      } catch (java.nio.file.NoSuchFileException collected) {
        // A collection deletes the file, then its record: a file gone since it was listed is built on nothing.
        if (!Files.exists(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return Optional.empty();
        throw new IOException("parent record " + rec + " vanished while " + file + " is still there");
      }
      if (name.isEmpty()) return Optional.empty();
      Path p = Path.of(name);
      return Optional.of(p.isAbsolute() ? p : file.resolveSibling(p).normalize());
    }
    if (!Files.exists(file)) return Optional.empty();
    if (!DiskLayers.isQcow2(file)) {
      if (file.getFileName().toString().endsWith(".qcow2")) throw new IOException(file + " has neither a parent record nor a qcow2 header");
      return Optional.empty(); // a raw image has no parent
    }
    // Never the header: whoever wrote the file last (its QEMU, for a top layer) chose what it names.
    throw new IOException("disk layer " + file + " has no parent record");
  }

  /**
   * Writes the records daemons before them never wrote, from the headers, for every qcow2 under
   * {@code dataDir} that has none: once, at start, before any VM runs (what a QEMU wrote into a
   * header before this daemon was trusted then as it was before). Returns how many.
   */
  public static int adoptLegacy(Path dataDir) throws IOException {
    if (!Files.isDirectory(dataDir)) return 0;
    int n = 0;
    try (var files = Files.walk(dataDir, 6)) {
      for (Path f : (Iterable<Path>) files.filter(p -> p.getFileName().toString().endsWith(".qcow2"))::iterator) {
        if (!Files.isRegularFile(f, java.nio.file.LinkOption.NOFOLLOW_LINKS) || Files.exists(recordOf(f)) || !DiskLayers.isQcow2(f)) continue;
        String named = DiskLayers.backingName(f).orElse("");
        record(f, named);
        n++;
      }
    }
    if (n > 0) log.warn("wrote parent records for {} disk files made before records existed, from their headers (docs/adr/0020)", n);
    return n;
  }

  /** {@code top}'s chain below it, nearest first, each file with its format; throws on a loop or an absurd depth. */
  public static List<Path> below(Path top) throws IOException {
    List<Path> chain = new ArrayList<>();
    Set<Path> seen = new HashSet<>();
    seen.add(top.toAbsolutePath().normalize());
    Optional<Path> next = of(top);
    while (next.isPresent()) {
      Path p = next.get().toAbsolutePath().normalize();
      if (!seen.add(p)) throw new IOException("the disk chain of " + top + " loops at " + p);
      if (chain.size() >= MAX_DEPTH) throw new IOException("the disk chain of " + top + " is deeper than " + MAX_DEPTH);
      if (!Files.isRegularFile(p)) throw new IOException("the disk chain of " + top + " is broken: " + p + " is missing");
      chain.add(p);
      next = of(p);
    }
    return chain;
  }
}
