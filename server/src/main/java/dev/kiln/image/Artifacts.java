package dev.kiln.image;

import dev.kiln.blob.ArtifactCache;
import dev.kiln.blob.ObjectStore;
import dev.kiln.blob.ObjectStoreException;
import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
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
 * at its current ones (its row names the image and each snapshot); a rebuild or a
 * re-snapshot makes new artifacts and moves the row's name, so whatever a running VM, a disk layer or
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

  /**
   * What an artifact holds; its directory under {@code artifacts/}, and its seal: the file written
   * last to a bucket and fetched last from it (its presence means the artifact is whole).
   */
  public enum Kind {
    IMAGE("images", "rootfs.ext4"), SNAPSHOT("snapshots", "manifest.json");

    final String dir;
    final String seal;

    Kind(String dir, String seal) {
      this.dir = dir;
      this.seal = seal;
    }
  }

  /** Gives an artifact's files fetched from the object store the owners and modes a local build gives them. */
  @FunctionalInterface
  public interface Adopt {
    void files(Path dir) throws IOException;
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
  /** Published but not yet named by anything the roots come from (a template row). */
  private final Set<Path> pending = new HashSet<>();
  /** Held artifacts and how many holds each has. */
  private final Map<Path, Integer> held = new HashMap<>();

  /** The cluster's copies, if artifacts are shared through an object store. */
  private final Optional<ArtifactBucket> bucket;
  /** The artifacts the last collection reached and saw; null when it failed or none ran yet (then every artifact counts as used). */
  private Set<Path> lastReached;
  private Set<Path> lastSeen;
  private final ArtifactPaths paths;

  /** A host's artifacts, local files only. */
  public Artifacts(Path dataDir) {
    this.root = dataDir.toAbsolutePath().normalize().resolve("artifacts");
    this.templatesRoot = dataDir.toAbsolutePath().normalize().resolve("templates");
    this.paths = new ArtifactPaths(root, templatesRoot);
    this.bucket = Optional.empty();
  }

  /**
   * A node's artifacts in a cluster: each one published here is uploaded to {@code store}, and one
   * a template names that is not here is fetched from it, through a cache of {@code cacheBytes}
   * rooted at {@code artifacts/} (the local layout, so a fetched artifact is where a local build
   * would have put it). The cache may remove a file only of an artifact the last collection found
   * nothing reaching ({@link #inUse}).
   */
  public Artifacts(Path dataDir, ObjectStore store, long cacheBytes) throws IOException {
    this.root = dataDir.toAbsolutePath().normalize().resolve("artifacts");
    this.templatesRoot = dataDir.toAbsolutePath().normalize().resolve("templates");
    this.paths = new ArtifactPaths(root, templatesRoot);
    this.bucket = Optional.of(new ArtifactBucket(store, new ArtifactCache(store, root, cacheBytes, this::inUse)));
  }

  /**
   * The path in this data directory of an artifact's file that {@code p} names: {@code p} itself,
   * unless it names an artifact under another data directory ({@code /elsewhere/artifacts/images/<id>/rootfs.ext4},
   * a row another node of the cluster wrote, or an old pointer file), which is the same artifact here.
   */
  public Path local(Path p) {
    Path a = p.toAbsolutePath().normalize();
    if (a.startsWith(root) || a.startsWith(templatesRoot)) return a;
    for (int i = a.getNameCount() - 3; i >= 0; i--) {
      if (!a.getName(i).toString().equals("artifacts")) continue;
      String kind = a.getName(i + 1).toString();
      String id = a.getName(i + 2).toString();
      if (!id.startsWith(".") && (kind.equals(Kind.IMAGE.dir) || kind.equals(Kind.SNAPSHOT.dir))) return root.resolve(a.subpath(i + 1, a.getNameCount()));
    }
    return a;
  }

  /** The snapshot artifact with this id here. */
  public Path snapshot(String id) {
    if (id.isEmpty() || id.startsWith(".") || id.contains("/")) throw new IllegalArgumentException("not an artifact id: '" + id + "'");
    return root.resolve(Kind.SNAPSHOT.dir).resolve(id);
  }

  /** The id of the artifact (image or snapshot directory under {@code artifacts/}) {@code p} lies in; empty for a legacy one or none. */
  public Optional<String> idOf(Path p) {
    return paths.artifactOf(local(p)).filter(a -> a.startsWith(root)).map(a -> a.getFileName().toString());
  }

  private Optional<Kind> kindOf(Path artifact) {
    if (!artifact.startsWith(root) || artifact.getNameCount() != root.getNameCount() + 2) return Optional.empty();
    String k = artifact.getName(root.getNameCount()).toString();
    for (Kind kind : Kind.values()) if (kind.dir.equals(k)) return Optional.of(kind);
    return Optional.empty();
  }

  /** Whether artifacts are shared through an object store. */
  public boolean shared() {
    return bucket.isPresent();
  }

  /**
   * Puts a published artifact in the object store (its seal last), if artifacts are shared; a
   * failure is an IOException naming the store. Before anything points at the artifact: a template
   * never names one that other nodes cannot fetch.
   */
  public void upload(Path artifact) throws IOException {
    if (bucket.isEmpty()) return;
    Path a = artifact.toAbsolutePath().normalize();
    Kind kind = kindOf(a).orElseThrow(() -> new IllegalArgumentException("not an artifact: " + artifact));
    try {
      bucket.get().upload(kind, a);
    } catch (ObjectStoreException e) {
      throw new IOException("storing " + kind.dir + "/" + a.getFileName() + " in the object store failed: " + e.getMessage(), e);
    }
  }

  /** Uploads an artifact built before artifacts were shared (one a new template reuses), unless the store has it already. */
  public void uploadIfMissing(Path path) throws IOException {
    if (bucket.isEmpty()) return;
    Optional<Path> a = paths.artifactOf(local(path)).filter(p -> kindOf(p).isPresent());
    if (a.isEmpty() || bucket.get().has(kindOf(a.get()).orElseThrow(), a.get().getFileName().toString())) return;
    upload(a.get());
  }

  /**
   * Makes sure the artifact {@code path} lies in is here whole, fetching it from the object store
   * if it is not (concurrent callers share one download of each file); {@code adopt} runs on the
   * fetched files before the seal is. Returns false if it is neither here nor in the store. The
   * artifact is kept from collection while it is fetched.
   *
   * @throws IOException if the store fails or a fetched file does not match its recorded checksum
   */
  public boolean ensureLocal(Path path, Adopt adopt) throws IOException, InterruptedException {
    Optional<Path> found = paths.artifactOf(local(path));
    if (found.isEmpty()) return Files.exists(path);
    Path a = found.get();
    Optional<Kind> kind = kindOf(a);
    if (kind.isEmpty()) return Files.exists(a); // legacy: local only
    if (Files.isRegularFile(a.resolve(kind.get().seal))) return true;
    if (bucket.isEmpty()) return false;
    try (Hold fetching = keep(a)) {
      return bucket.get().fetch(kind.get(), a, adopt);
    } catch (ObjectStoreException e) {
      throw new IOException("fetching " + kind.get().dir + "/" + a.getFileName() + " from the object store failed: " + e.getMessage(), e);
    }
  }

  /** Whether {@code path} lies in a snapshot artifact (a saved VM: its files need the VMM's owners) rather than an image. */
  public boolean inSnapshot(Path path) {
    return paths.artifactOf(local(path)).flatMap(this::kindOf).equals(Optional.of(Kind.SNAPSHOT));
  }

  /** Whether the artifact {@code path} lies in is here whole or can be fetched whole from the object store. */
  public boolean available(Path path) {
    Optional<Path> a = paths.artifactOf(local(path));
    if (a.isEmpty() || kindOf(a.get()).isEmpty()) return Files.exists(path);
    Kind kind = kindOf(a.get()).get();
    if (Files.isRegularFile(a.get().resolve(kind.seal))) return true;
    try {
      return bucket.isPresent() && bucket.get().has(kind, a.get().getFileName().toString());
    } catch (ObjectStoreException e) {
      log.warn("cannot tell whether {} has {}: {}", bucket.get().describe(), a.get().getFileName(), e.getMessage());
      return false;
    }
  }

  /**
   * For the node cache: whether the artifact {@code file} lies in may still be needed. Only an
   * artifact the last collection saw and did not reach is not (it is garbage, and collection
   * would remove it anyway); anything held, pending, new since, or unknown because the last pass
   * failed or none ran, is.
   */
  synchronized boolean inUse(Path file) {
    Optional<Path> a = paths.artifactOf(file.toAbsolutePath().normalize());
    if (a.isEmpty()) return true;
    Path p = a.get();
    if (held.containsKey(p) || pending.contains(p) || lastReached == null) return true;
    return lastReached.contains(p) || !lastSeen.contains(p);
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
   * already (a pointer read before a collection that removed what it pointed at). In a cluster an
   * image that is not here is fetched from the object store first.
   */
  public Hold hold(Path path) throws IOException {
    Optional<Path> artifact = paths.artifactOf(local(path));
    if (bucket.isPresent() && artifact.flatMap(this::kindOf).equals(Optional.of(Kind.IMAGE))) {
      // A template image another node built: fetched first (outside the lock: it may take a while).
      // A snapshot is fetched by whoever knows its backend's modes (TemplateSnapshots), never here.
      try {
        ensureLocal(path, dir -> { });
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted while fetching " + path);
      }
    }
    return holdLocal(path);
  }

  private synchronized Hold holdLocal(Path path) throws IOException {
    Path a = paths.artifactOf(local(path)).orElse(local(path));
    if (!Files.exists(a, LinkOption.NOFOLLOW_LINKS)) throw new NoSuchFileException(a.toString(), null, "the artifact was collected");
    return keep(a);
  }

  /** Counts a hold on the artifact {@code a}, whether or not it is here yet (one being fetched is kept too). */
  private synchronized Hold keep(Path a) {
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
      List<Path> candidates = paths.all();
      Set<Path> kept = new HashSet<>(held.keySet());
      kept.addAll(pending);
      reachable = paths.reachable(roots.get(), kept, baseOf);
      for (Path c : candidates) if (!reachable.contains(c) && !pending.contains(c)) unreachable.add(c);
      lastReached = Set.copyOf(reachable);
      lastSeen = Set.copyOf(candidates);
    } catch (IOException e) {
      lastReached = null;
      log.warn("artifacts not collected, nothing deleted: {}", e.getMessage());
      return 0;
    } catch (RuntimeException e) {
      lastReached = null;
      log.error("artifacts not collected, nothing deleted, on a bug", e);
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
}
