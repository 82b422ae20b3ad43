package dev.kiln.image;

import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Template images and snapshots as immutable artifacts: each one a directory
 * {@code artifacts/<kind>/<id>/} with a random id never used twice, written whole under a dot name
 * ({@code .<id>.building}), fsynced and renamed into place, then never changed. A template points
 * at its current ones (its row at the image, a pointer file at each snapshot); a rebuild or a
 * re-snapshot makes new artifacts and moves the pointer, so whatever a running VM, a disk layer or
 * a checkpoint names stays as it was. Artifacts are removed when nothing reaches them any more
 * ({@link #collect}), which fails closed like the disk layers' collection.
 *
 * <p>Data directories from before this layout keep their {@code templates/<name>/rootfs.ext4} and
 * {@code templates/<name>/snapshot[-net]/}: qcow2 layers name them by path, so they are adopted
 * where they are, as legacy artifacts, read and collected like the others.
 */
public final class Artifacts {
  private static final Logger log = LoggerFactory.getLogger(Artifacts.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  /** The names a template directory held its image and snapshots under before this layout. */
  static final List<String> LEGACY_NAMES = List.of("rootfs.ext4", "snapshot", "snapshot-net");

  /** What an artifact holds; its directory under {@code artifacts/}. */
  public enum Kind {
    IMAGE("images"), SNAPSHOT("snapshots");

    final String dir;

    Kind(String dir) {
      this.dir = dir;
    }
  }

  /** What a file names as the file it is built on (a qcow2's backing file); empty for a file built on nothing. */
  @FunctionalInterface
  public interface BaseOf {
    Optional<Path> of(Path file) throws IOException;
  }

  /** What must be kept: every path a template, a sandbox, a checkpoint or a disk layer names. */
  @FunctionalInterface
  public interface Roots {
    Set<Path> get() throws IOException;
  }

  /** Protects an artifact from collection while it is being built on (until the new layer exists). */
  public interface Hold extends AutoCloseable {
    @Override
    void close();
  }

  private final Path root;
  private final Path templatesRoot;
  /** Published but not yet pointed at by anything the roots come from. */
  private final Set<Path> pending = new HashSet<>();
  /** Held artifacts and how many holds each has. */
  private final Map<Path, Integer> held = new HashMap<>();

  public Artifacts(Path dataDir) {
    this.root = dataDir.toAbsolutePath().normalize().resolve("artifacts");
    this.templatesRoot = dataDir.toAbsolutePath().normalize().resolve("templates");
  }

  /** A new, empty directory to build an artifact in; {@link #publish} puts it in place. */
  public Path building(Kind kind) throws IOException {
    byte[] id = new byte[12];
    RANDOM.nextBytes(id);
    Path dir = root.resolve(kind.dir).resolve("." + HexFormat.of().formatHex(id) + ".building");
    Files.createDirectories(dir);
    return dir;
  }

  /**
   * Makes a built artifact durable (every file fsynced) and renames it into place; it stays
   * protected from {@link #collect} until {@link #recorded} says something the roots come from
   * points at it.
   */
  public Path publish(Path building) throws IOException {
    String name = building.getFileName().toString();
    if (!name.startsWith(".") || !name.endsWith(".building")) throw new IllegalArgumentException("not a building artifact: " + building);
    try (Stream<Path> files = Files.walk(building)) {
      for (Path f : files.filter(Files::isRegularFile).toList()) {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
          ch.force(true);
        }
      }
    }
    AtomicFiles.fsyncDirectory(building);
    Path dir = building.resolveSibling(name.substring(1, name.length() - ".building".length()));
    synchronized (this) {
      pending.add(dir);
    }
    AtomicFiles.moveDurably(building, dir);
    return dir;
  }

  /** The artifact is now pointed at by something the roots come from (or was given up). */
  public synchronized void recorded(Path artifact) {
    pending.remove(artifact);
  }

  /**
   * Keeps the artifact that holds {@code path} from collection until closed. Fails if it is gone
   * already (a pointer read before a collection that removed what it pointed at).
   */
  public synchronized Hold hold(Path path) throws IOException {
    Path a = artifactOf(path.toAbsolutePath().normalize()).orElse(path.toAbsolutePath().normalize());
    if (!Files.exists(a, LinkOption.NOFOLLOW_LINKS)) throw new NoSuchFileException(a.toString(), null, "the artifact was collected");
    held.merge(a, 1, Integer::sum);
    return () -> {
      synchronized (Artifacts.this) {
        held.computeIfPresent(a, (k, n) -> n == 1 ? null : n - 1);
      }
    };
  }

  /** At daemon start: removes what builds a crash interrupted (here and under the legacy template directories). */
  public void removeInterrupted() {
    List<Path> dirs = new ArrayList<>();
    for (Kind k : Kind.values()) dirs.add(root.resolve(k.dir));
    try (Stream<Path> templates = Files.isDirectory(templatesRoot) ? Files.list(templatesRoot) : Stream.empty()) {
      dirs.addAll(templates.toList());
    } catch (IOException e) {
      log.warn("interrupted template builds not removed: {}", e.toString());
    }
    for (Path dir : dirs) {
      if (!Files.isDirectory(dir)) continue;
      try (var entries = Files.newDirectoryStream(dir, ".*.building")) {
        for (Path p : entries) {
          AtomicFiles.deleteTree(p);
          log.info("removed an interrupted artifact build {}", p);
        }
      } catch (IOException e) {
        log.warn("interrupted artifact builds in {} not removed: {}", dir, e.toString());
      }
      try (var entries = Files.newDirectoryStream(dir, "snapshot.*.building")) { // the legacy layout's snapshot builds
        for (Path p : entries) AtomicFiles.deleteTree(p);
      } catch (IOException e) {
        log.warn("interrupted snapshots in {} not removed: {}", dir, e.toString());
      }
    }
  }

  /**
   * Deletes every artifact nothing reaches; returns how many. Reachability starts from the roots,
   * the held and the pending artifacts, and follows what each file is built on ({@code baseOf},
   * for every {@code .qcow2} on the way, a snapshot's disk included once its snapshot is reached).
   * Fails closed: an error computing the roots, a chain that cannot be read, a base that does not
   * exist or an artifact directory that cannot be listed aborts the pass before anything is
   * deleted, and the log says why. A root that does not exist protects nothing and is no error.
   */
  public synchronized int collect(Roots roots, BaseOf baseOf) {
    List<Path> unreachable = new ArrayList<>();
    Set<Path> reachable;
    try {
      List<Path> candidates = candidates();
      reachable = reachable(roots.get(), baseOf);
      for (Path c : candidates) if (!reachable.contains(c) && !pending.contains(c)) unreachable.add(c);
    } catch (IOException | RuntimeException e) {
      log.warn("artifacts not collected, nothing deleted: {}", e.toString());
      return 0;
    }
    int removed = 0;
    for (Path a : unreachable) {
      try {
        AtomicFiles.deleteTree(a);
        removed++;
        log.info("artifact collected {}", a);
      } catch (IOException e) {
        log.warn("artifacts collection stopped after removed={}: {}", removed, e.toString());
        return removed;
      }
    }
    return removed;
  }

  /** Every artifact there is: the directories under {@code artifacts/<kind>/} and the legacy ones in template directories. */
  private List<Path> candidates() throws IOException {
    List<Path> all = new ArrayList<>();
    for (Kind k : Kind.values()) {
      Path dir = root.resolve(k.dir);
      if (!Files.isDirectory(dir)) continue;
      try (var entries = Files.newDirectoryStream(dir)) {
        for (Path p : entries) if (!p.getFileName().toString().startsWith(".")) all.add(p);
      }
    }
    if (Files.isDirectory(templatesRoot)) {
      try (var templates = Files.newDirectoryStream(templatesRoot)) {
        for (Path t : templates) {
          for (String n : LEGACY_NAMES) if (Files.exists(t.resolve(n), LinkOption.NOFOLLOW_LINKS)) all.add(t.resolve(n));
        }
      }
    }
    return all;
  }

  private Set<Path> reachable(Set<Path> roots, BaseOf baseOf) throws IOException {
    Set<Path> artifacts = new HashSet<>();
    Set<Path> seen = new HashSet<>();
    record Step(Path path, boolean base) {}
    ArrayDeque<Step> todo = new ArrayDeque<>();
    for (Path r : roots) todo.push(new Step(r, false));
    for (Path p : held.keySet()) todo.push(new Step(p, false));
    for (Path p : pending) todo.push(new Step(p, false));
    while (!todo.isEmpty()) {
      Step s = todo.pop();
      Path p = canonical(s.path().toAbsolutePath().normalize());
      if (!seen.add(p)) continue;
      if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
        // A layer collected since the roots were listed protects nothing; a chain whose base is gone is broken: stop.
        if (s.base()) throw new IOException("base file " + p + " does not exist");
        continue;
      }
      Optional<Path> artifact = artifactOf(p);
      if (artifact.isPresent() && artifacts.add(artifact.get()) && Files.isDirectory(artifact.get())) {
        try (Stream<Path> files = Files.list(artifact.get())) {
          for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".qcow2")).toList()) todo.push(new Step(f, false));
        }
      }
      if (p.getFileName().toString().endsWith(".qcow2") && Files.isRegularFile(p)) {
        Optional<Path> base;
        try {
          base = baseOf.of(p);
        } catch (IOException e) {
          throw new IOException("disk " + p + " has an unreadable header: " + e.getMessage(), e);
        }
        if (base.isPresent()) todo.push(new Step(base.get(), true));
      }
    }
    return artifacts;
  }

  /** A path that leads into the data directory by another name (a symbolic link on the way) is compared by its real path. */
  private Path canonical(Path p) throws IOException {
    if (p.startsWith(root) || p.startsWith(templatesRoot)) return p;
    try {
      Path real = p.toRealPath();
      for (Path dir : List.of(root, templatesRoot)) {
        if (Files.exists(dir) && real.startsWith(dir.toRealPath())) return dir.resolve(dir.toRealPath().relativize(real));
      }
      return real;
    } catch (NoSuchFileException e) {
      return p;
    }
  }

  /** The artifact (its directory, or a legacy image file) a path lies in, if any. */
  private Optional<Path> artifactOf(Path p) {
    if (p.startsWith(root)) {
      Path rel = root.relativize(p);
      if (rel.getNameCount() >= 2 && !rel.getName(1).toString().startsWith(".")) return Optional.of(root.resolve(rel.subpath(0, 2)));
      return Optional.empty();
    }
    if (p.startsWith(templatesRoot)) {
      Path rel = templatesRoot.relativize(p);
      if (rel.getNameCount() >= 2 && LEGACY_NAMES.contains(rel.getName(1).toString())) return Optional.of(templatesRoot.resolve(rel.subpath(0, 2)));
    }
    return Optional.empty();
  }
}
