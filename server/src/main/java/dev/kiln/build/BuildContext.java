package dev.kiln.build;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * A build's context: the tar the client sent, unpacked into a directory of the daemon's (regular
 * files, directories and symbolic links only, each path inside the context, the whole within the
 * configured size), and read back through .dockerignore. Nothing in it is followed out of it: a
 * symbolic link is copied as a link, never read through.
 */
public final class BuildContext {
  /** More entries than this is not a context a person meant to send. */
  static final int MAX_ENTRIES = 200_000;
  private final Path root;
  private final DockerIgnore ignore;
  private final Map<String, String> hashes = new ConcurrentHashMap<>();
  /** The context's paths, .dockerignore applied: read once, since a received context does not change. */
  private List<String> paths;

  /** One file of the context as COPY sees it. */
  public record Entry(String path, Kind kind, int mode, Optional<String> linkTarget) {
    public enum Kind { FILE, DIRECTORY, SYMLINK }
  }

  private BuildContext(Path root, DockerIgnore ignore) {
    this.root = root;
    this.ignore = ignore;
  }

  /** The context unpacked before (a build reading what a request received). */
  public static BuildContext open(Path root) throws IOException {
    Path ignoreFile = root.resolve(".dockerignore");
    DockerIgnore ignore = Files.isRegularFile(ignoreFile, LinkOption.NOFOLLOW_LINKS) ? DockerIgnore.parse(Files.readString(ignoreFile)) : DockerIgnore.NONE;
    return new BuildContext(root, ignore);
  }

  /**
   * Unpacks a tar (plain or gzip) into {@code dir}, which must not exist. Refuses, with nothing
   * left behind, an archive over {@code maxBytes} of content, an entry that would land outside the
   * context, and entries that are neither files, directories nor links.
   */
  public static BuildContext receive(InputStream tar, Path dir, long maxBytes, String limitName) throws IOException {
    Files.createDirectories(dir.getParent());
    Files.createDirectory(dir);
    try {
      unpack(tar, dir, maxBytes, limitName);
      return open(dir);
    } catch (IOException | RuntimeException e) {
      AtomicFiles.deleteTree(dir);
      throw e;
    }
  }

  private static void unpack(InputStream raw, Path dir, long maxBytes, String limitName) throws IOException {
    // Left open: a caller refusing the context drains what the client still sends, so that its answer is not lost to a reset.
    BufferedInputStream in = new BufferedInputStream(new FilterInputStream(raw) {
      @Override
      public void close() {}
    });
    in.mark(2);
    boolean gzip = in.read() == 0x1f && in.read() == 0x8b;
    in.reset();
    long total = 0;
    int entries = 0;
    byte[] buf = new byte[1 << 16];
    try (TarArchiveInputStream tar = new TarArchiveInputStream(gzip ? new GZIPInputStream(in, 1 << 16) : in)) {
      TarArchiveEntry e;
      while ((e = tar.getNextEntry()) != null) {
        if (++entries > MAX_ENTRIES) throw new KilnException(ErrorCode.PAYLOAD_TOO_LARGE, "the build context has more than " + MAX_ENTRIES + " entries");
        String name = relative(e.getName());
        if (name.isEmpty()) continue;
        Path target = dir.resolve(name);
        Files.createDirectories(target.getParent());
        if (Files.isSymbolicLink(target.getParent()) || !target.getParent().toRealPath().startsWith(dir.toRealPath())) {
          throw new KilnException(ErrorCode.INVALID_REQUEST, "build context entry '" + e.getName() + "' lies under a symbolic link");
        }
        int mode = e.getMode() & 07777;
        if (e.isDirectory()) {
          Files.createDirectories(target);
          setMode(target, mode == 0 ? 0755 : mode);
        } else if (e.isSymbolicLink()) {
          Files.deleteIfExists(target);
          Files.createSymbolicLink(target, Path.of(e.getLinkName()));
        } else if (e.isFile() && !e.isLink()) {
          total += e.getSize();
          if (total > maxBytes) throw tooLarge(maxBytes, limitName);
          Files.deleteIfExists(target);
          long wrote = 0;
          try (OutputStream out = Files.newOutputStream(target)) {
            int n;
            while ((n = tar.read(buf)) > 0) {
              wrote += n;
              if (total - e.getSize() + wrote > maxBytes) throw tooLarge(maxBytes, limitName);
              out.write(buf, 0, n);
            }
          }
          setMode(target, mode);
        } else {
          throw new KilnException(ErrorCode.INVALID_REQUEST, "build context entry '" + e.getName() + "' is a "
              + (e.isLink() ? "hard link" : "device, FIFO or other special file") + "; a context holds files, directories and symbolic links");
        }
      }
    } catch (java.util.zip.ZipException | IllegalArgumentException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "the build context is not a readable tar (or gzip'd tar): " + e.getMessage(), e);
    }
  }

  private static KilnException tooLarge(long maxBytes, String limitName) {
    return new KilnException(ErrorCode.PAYLOAD_TOO_LARGE, "the build context is larger than the limit of " + (maxBytes >> 20) + " MiB ("
        + limitName + "); leave out what the build does not need with .dockerignore");
  }

  /** A tar entry's name inside the context; one that would leave it is refused. */
  static String relative(String name) {
    String n = name.replace('\\', '/');
    while (n.startsWith("./")) n = n.substring(2);
    if (n.startsWith("/")) throw new KilnException(ErrorCode.INVALID_REQUEST, "build context entry '" + name + "' is an absolute path");
    for (String part : n.split("/")) {
      if (part.equals("..")) throw new KilnException(ErrorCode.INVALID_REQUEST, "build context entry '" + name + "' leaves the context (..)");
    }
    return DockerIgnore.clean(n);
  }

  private static void setMode(Path p, int mode) throws IOException {
    Files.setAttribute(p, "unix:mode", mode, LinkOption.NOFOLLOW_LINKS);
  }

  public Path root() {
    return root;
  }

  /** The Dockerfile's text at {@code path} in the context (even if .dockerignore names it, as in Docker). */
  public String dockerfile(String path) throws IOException {
    String p = safe(path, 0, "the Dockerfile");
    Path f = root.resolve(p);
    if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "the build context has no Dockerfile at '" + path + "'");
    }
    if (Files.size(f) > Dockerfile.MAX_BYTES) throw new DockerfileException(0, "larger than " + (Dockerfile.MAX_BYTES >> 10) + " KiB");
    return Files.readString(f);
  }

  /**
   * What a COPY source names, .dockerignore applied: the path itself (a file, a link, or a
   * directory, whose contents are copied), or every top-level match of a wildcard. Refuses a
   * source outside the context and one that matches nothing, naming {@code line}.
   */
  public List<Entry> select(String source, int line) throws IOException {
    String p = safe(source, line, "COPY source '" + source + "'");
    List<Entry> out = new ArrayList<>();
    if (p.matches(".*[*?\\[].*")) {
      java.util.regex.Pattern glob = java.util.regex.Pattern.compile(DockerIgnore.regex(p));
      for (String candidate : walk()) if (glob.matcher(candidate).matches()) out.add(entry(candidate));
    } else if (p.isEmpty() || Files.exists(root.resolve(p), LinkOption.NOFOLLOW_LINKS) && !ignore.excludes(p)) {
      out.add(entry(p));
    }
    if (out.isEmpty()) {
      throw new DockerfileException(line, "COPY source '" + source + "' is not in the build context" + (ignore.excludes(p) ? " (.dockerignore excludes it)" : ""));
    }
    return out;
  }

  /** Everything under a directory entry of the context (itself excluded), .dockerignore applied, in path order. */
  public List<Entry> below(String dir) throws IOException {
    List<Entry> out = new ArrayList<>();
    String prefix = dir.isEmpty() ? "" : dir + "/";
    for (String p : walk()) if (p.startsWith(prefix) && !p.equals(dir)) out.add(entry(p));
    return out;
  }

  /** Every path of the context not excluded, sorted. */
  private synchronized List<String> walk() throws IOException {
    if (paths == null) {
      try (Stream<Path> s = Files.walk(root)) {
        paths = s.map(f -> root.relativize(f).toString()).filter(rel -> !rel.isEmpty() && !ignore.excludes(rel)).sorted().toList();
      }
    }
    return paths;
  }

  private Entry entry(String rel) throws IOException {
    Path f = rel.isEmpty() ? root : root.resolve(rel);
    if (Files.isSymbolicLink(f)) return new Entry(rel, Entry.Kind.SYMLINK, 0777, Optional.of(Files.readSymbolicLink(f).toString()));
    return new Entry(rel, Files.isDirectory(f, LinkOption.NOFOLLOW_LINKS) ? Entry.Kind.DIRECTORY : Entry.Kind.FILE, modeOf(f), Optional.empty());
  }

  private static int modeOf(Path f) throws IOException {
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS);
    int mode = 0;
    for (PosixFilePermission p : perms) mode |= 1 << (8 - p.ordinal());
    return mode;
  }

  /** A regular file's bytes. */
  public InputStream read(Entry e) throws IOException {
    return Files.newInputStream(root.resolve(e.path()), LinkOption.NOFOLLOW_LINKS);
  }

  /** The SHA-256 of a regular file (a cache key's part), computed once per build. */
  public String sha256(Entry e) throws IOException {
    String known = hashes.get(e.path());
    if (known != null) return known;
    MessageDigest d;
    try {
      d = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException x) {
      throw new IllegalStateException(x);
    }
    try (InputStream in = read(e)) {
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) d.update(buf, 0, n);
    }
    String h = HexFormat.of().formatHex(d.digest());
    hashes.put(e.path(), h);
    return h;
  }

  /** A path the Dockerfile names, relative to the context; one outside it is refused naming the line. */
  static String safe(String path, int line, String what) {
    String n = path.replace('\\', '/');
    int depth = 0;
    for (String part : n.split("/")) {
      if (part.isEmpty() || part.equals(".")) continue;
      depth += part.equals("..") ? -1 : 1;
      if (depth < 0) throw new DockerfileException(line, what + " is outside the build context");
    }
    return DockerIgnore.clean(n);
  }
}
