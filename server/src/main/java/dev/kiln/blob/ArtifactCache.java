package dev.kiln.blob;

import dev.kiln.blob.ObjectStoreException.Problem;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's local copies of objects: {@code <dir>/<key>}, fetched on first use, verified, and kept
 * within a size limit by removing the least recently used copy that nothing uses.
 *
 * <p>Rules:
 * <ul>
 * <li>One download per key at a time: concurrent {@link #open}s of a key wait for the one that
 *     started it and share its result (its failure too: they do not each retry at once).
 * <li>Nothing partial is visible: a copy appears at its path only whole and verified (see
 *     {@link ObjectStore#get}); what a crash left half written has a dot name, removed when the
 *     cache is opened.
 * <li>A copy is never removed while it is held (an open {@link Hold}) or while {@link InUse} says a
 *     file still names it (a VM re-adopted after a restart holds nothing in this process). An
 *     {@code InUse} that fails stops the pass: nothing more is removed (fails closed).
 * <li>Room is made before a download, for its size, so the limit holds while it runs; if only held
 *     copies are left the download goes ahead over the limit, and the log says so.
 * </ul>
 * Last use is the file's modification time, so the order survives a restart.
 */
public final class ArtifactCache {
  private static final Logger log = LoggerFactory.getLogger(ArtifactCache.class);

  /** Whether a cached file is still needed by something this cache's holds do not cover. */
  @FunctionalInterface
  public interface InUse {
    boolean test(Path file) throws IOException;
  }

  /** A cached file kept from removal until closed. */
  public interface Hold extends AutoCloseable {
    Path path();

    @Override
    void close();
  }

  private static final class Entry {
    final long size;
    long lastUsed;
    int holds;

    Entry(long size, long lastUsed) {
      this.size = size;
      this.lastUsed = lastUsed;
    }
  }

  private final ObjectStore store;
  private final Path dir;
  private final long maxBytes;
  private final InUse inUse;
  private final Map<ObjectKey, Entry> entries = new HashMap<>();
  private final Map<ObjectKey, CompletableFuture<Void>> downloads = new HashMap<>();
  /** Bytes of the downloads under way, counted against the limit before they land. */
  private long reserved;
  private long total;
  /** Orders uses: a copy's last use is the clock's value then. */
  private long clock;

  /**
   * Opens the cache in {@code dir}: removes what interrupted downloads left and takes the copies
   * there as they are (they were verified when they were written).
   */
  public ArtifactCache(ObjectStore store, Path dir, long maxBytes, InUse inUse) throws IOException {
    if (maxBytes < 1) throw new IllegalArgumentException("cache limit must be positive, got " + maxBytes);
    this.store = store;
    this.dir = dir.toAbsolutePath().normalize();
    this.maxBytes = maxBytes;
    this.inUse = inUse;
    Files.createDirectories(this.dir);
    load();
  }

  private void load() throws IOException {
    record Found(ObjectKey key, long size, FileTime used) {}
    List<Found> found = new ArrayList<>();
    Files.walkFileTree(dir, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        if (VerifiedWrite.isLeftover(file)) {
          Files.deleteIfExists(file);
          log.info("removed an interrupted download {}", file);
        } else if (attrs.isRegularFile()) {
          try {
            found.add(new Found(new ObjectKey(dir.relativize(file).toString()), attrs.size(), attrs.lastModifiedTime()));
          } catch (IllegalArgumentException e) {
            log.warn("{} is in the artifact cache but no object's copy: left alone", file);
          }
        }
        return FileVisitResult.CONTINUE;
      }
    });
    found.sort(Comparator.comparing(Found::used));
    for (Found f : found) {
      entries.put(f.key(), new Entry(f.size(), clock++));
      total += f.size();
    }
  }

  /** Where {@code key}'s copy is (or would be). */
  public Path path(ObjectKey key) {
    return dir.resolve(key.value());
  }

  /** Bytes of the copies in the cache now. */
  public synchronized long bytes() {
    return total;
  }

  /**
   * {@code key}'s local copy, downloaded first if there is none, held until the hold is closed.
   *
   * @throws ObjectStoreException if the object does not exist, the store fails, or the copy does not verify
   * @throws InterruptedException if interrupted while another thread downloads the key (that download goes on)
   */
  public Hold open(ObjectKey key) throws InterruptedException {
    while (true) {
      CompletableFuture<Void> running;
      boolean mine = false;
      synchronized (this) {
        Entry e = entries.get(key);
        if (e != null && Files.isRegularFile(path(key))) return hold(key, e);
        // Removed behind the cache's back (by hand, a full disk's cleanup): fetched again.
        if (e != null) forget(key, e, "its file is gone");
        running = downloads.get(key);
        if (running == null) {
          running = new CompletableFuture<>();
          downloads.put(key, running);
          mine = true;
        }
      }
      if (mine) return download(key, running);
      try {
        running.get();
      } catch (ExecutionException failed) {
        if (failed.getCause() instanceof ObjectStoreException o) throw new ObjectStoreException(o.problem(), o.getMessage(), o);
        throw new ObjectStoreException(Problem.FAILED, "fetching " + key + " from " + store.describe() + " failed: " + Messages.of(failed.getCause()), failed.getCause());
      }
      // Done: take the copy on the next turn (or fetch it again if it was removed in between).
    }
  }

  private Hold download(ObjectKey key, CompletableFuture<Void> done) {
    long size = -1;
    long t0 = System.nanoTime();
    try {
      ObjectInfo info = store.head(key).orElseThrow(() -> new ObjectStoreException(Problem.NOT_FOUND, "no object " + key + " in " + store.describe()));
      size = info.size();
      synchronized (this) {
        reserved += size;
        makeRoom();
      }
      ObjectInfo got = store.get(key, path(key));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      log.info("fetched {} from {}: {} bytes in {} ms", key, store.describe(), got.size(), ms);
      Hold h;
      synchronized (this) {
        reserved -= size;
        size = -1;
        Entry e = new Entry(got.size(), 0);
        entries.put(key, e);
        total += got.size();
        downloads.remove(key);
        h = hold(key, e);
      }
      done.complete(null);
      return h;
    } catch (RuntimeException e) {
      synchronized (this) {
        if (size >= 0) reserved -= size;
        downloads.remove(key);
      }
      log.warn("fetching {} from {} failed after {} ms: {}", key, store.describe(), (System.nanoTime() - t0) / 1_000_000, e.getMessage());
      done.completeExceptionally(e);
      throw e;
    }
  }

  /** Called holding the lock. */
  private Hold hold(ObjectKey key, Entry e) {
    e.holds++;
    e.lastUsed = ++clock;
    try {
      Files.setLastModifiedTime(path(key), FileTime.fromMillis(System.currentTimeMillis()));
    } catch (IOException ex) {
      log.debug("last use of {} not recorded: {}", key, ex.toString());
    }
    AtomicBoolean closed = new AtomicBoolean();
    Path p = path(key);
    return new Hold() {
      @Override
      public Path path() {
        return p;
      }

      @Override
      public void close() {
        if (!closed.compareAndSet(false, true)) return;
        synchronized (ArtifactCache.this) {
          e.holds--;
          if (total + reserved > maxBytes) makeRoom();
        }
      }
    };
  }

  /** Called holding the lock. */
  private void forget(ObjectKey key, Entry e, String why) {
    entries.remove(key);
    total -= e.size;
    log.info("{} left the artifact cache ({} bytes): {}", key, e.size, why);
  }

  /** Called holding the lock: removes least recently used copies nothing uses until the limit is kept. */
  private void makeRoom() {
    if (total + reserved <= maxBytes) return;
    List<Map.Entry<ObjectKey, Entry>> byAge = new ArrayList<>(entries.entrySet());
    byAge.sort(Comparator.comparingLong(m -> m.getValue().lastUsed));
    for (Map.Entry<ObjectKey, Entry> m : byAge) {
      if (total + reserved <= maxBytes) return;
      Entry e = m.getValue();
      if (e.holds > 0) continue;
      Path p = path(m.getKey());
      try {
        if (inUse.test(p)) continue;
        Files.deleteIfExists(p);
      } catch (IOException | RuntimeException ex) {
        log.warn("artifact cache not trimmed, nothing more removed: {}", ex.toString());
        return;
      }
      forget(m.getKey(), e, "evicted");
    }
    if (total + reserved <= maxBytes) return;
    log.warn("artifact cache over its limit: {} bytes cached and {} downloading, limit {}; the rest is in use", total, reserved, maxBytes);
  }
}
