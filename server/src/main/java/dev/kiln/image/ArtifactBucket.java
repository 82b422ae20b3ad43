package dev.kiln.image;

import dev.kiln.blob.ArtifactCache;
import dev.kiln.blob.ObjectKey;
import dev.kiln.blob.ObjectStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Template artifacts' copies in a cluster's object store, under keys that mirror the local layout:
 * {@code <kind>/<id>/<file>} ({@code images/<id>/rootfs.ext4}, {@code snapshots/<id>/manifest.json}…).
 * An artifact is in the bucket once its seal ({@link Artifacts.Kind#seal}: the image file, a
 * snapshot's manifest) is: the seal is put after every other file and fetched after them, so whoever
 * finds it, in the bucket or in a data directory, finds the rest.
 *
 * <p>Fetched files land in their place in the data directory through the node's {@link ArtifactCache}
 * (rooted at {@code artifacts/}), which downloads each key once for concurrent callers and checks it
 * against the SHA-256 recorded at upload.
 */
final class ArtifactBucket {
  private static final Logger log = LoggerFactory.getLogger(ArtifactBucket.class);

  private final ObjectStore store;
  private final ArtifactCache cache;

  ArtifactBucket(ObjectStore store, ArtifactCache cache) {
    this.store = store;
    this.cache = cache;
  }

  private static ObjectKey key(Artifacts.Kind kind, String id, String file) {
    return new ObjectKey(kind.dir + "/" + id + "/" + file);
  }

  String describe() {
    return store.describe();
  }

  /** Puts every file of the published artifact {@code dir}, its seal last. */
  void upload(Artifacts.Kind kind, Path dir) throws IOException {
    String id = dir.getFileName().toString();
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = new ArrayList<>(s.filter(Files::isRegularFile).sorted(Comparator.comparing(Path::toString)).toList());
    }
    Path seal = dir.resolve(kind.seal);
    if (!files.remove(seal)) throw new IOException("artifact " + dir + " has no " + kind.seal + ": it is not complete");
    files.add(seal);
    long t0 = System.nanoTime();
    long bytes = 0;
    for (Path f : files) bytes += store.put(key(kind, id, f.getFileName().toString()), f).size();
    log.info("artifact uploaded {}/{} files={} bytes={} took_ms={} to {}", kind.dir, id, files.size(), bytes, (System.nanoTime() - t0) / 1_000_000,
        store.describe());
  }

  /** Whether the bucket has the artifact whole. */
  boolean has(Artifacts.Kind kind, String id) {
    return store.head(key(kind, id, kind.seal)).isPresent();
  }

  /**
   * Fetches the artifact into {@code dir} ({@code artifacts/<kind>/<id>}, where the cache puts its
   * keys): every file but the seal, then {@code adopt}, then the seal (read-only). False if the
   * bucket has no complete copy.
   */
  boolean fetch(Artifacts.Kind kind, Path dir, Artifacts.Adopt adopt) throws IOException, InterruptedException {
    String id = dir.getFileName().toString();
    ObjectKey seal = key(kind, id, kind.seal);
    if (store.head(seal).isEmpty()) return false;
    long t0 = System.nanoTime();
    List<ArtifactCache.Hold> holds = new ArrayList<>();
    try {
      for (ObjectKey k : store.listAll(kind.dir + "/" + id + "/")) {
        if (!k.equals(seal)) holds.add(cache.open(k));
      }
      adopt.files(dir);
      holds.add(cache.open(seal));
      Files.setAttribute(dir.resolve(kind.seal), "unix:mode", 0444);
      long bytes = 0;
      for (ArtifactCache.Hold h : holds) bytes += Files.size(h.path());
      log.info("artifact fetched {}/{} files={} bytes={} took_ms={} from {}", kind.dir, id, holds.size(), bytes, (System.nanoTime() - t0) / 1_000_000,
          store.describe());
      return true;
    } finally {
      holds.forEach(ArtifactCache.Hold::close);
    }
  }
}
