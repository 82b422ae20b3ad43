package dev.kiln.build;

import dev.kiln.host.Checksums;
import dev.kiln.store.BuildCacheRepository;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The step cache of this node's Dockerfile builds: each step's disk under the key of everything it
 * depends on (the key before it, the instruction as expanded, the content of the files it copies).
 * Entries go by age (unused for longer than {@code maxAge}) and then by size (least recently used
 * first, until the total is under {@code maxBytes}); the files go with the next collection of
 * unused disks, unless something else (a template image, a sandbox) is built on them.
 */
final class StepCache {
  private static final Logger log = LoggerFactory.getLogger(StepCache.class);
  private final BuildCacheRepository repo;
  private final String nodeId;
  private final long maxBytes;
  private final Duration maxAge;

  StepCache(BuildCacheRepository repo, String nodeId, long maxBytes, Duration maxAge) {
    this.repo = repo;
    this.nodeId = nodeId;
    this.maxBytes = maxBytes;
    this.maxAge = maxAge;
  }

  /** The key of a step: the key before it and what the step is, each part kept apart from the next. */
  static String key(String parent, List<String> parts) {
    StringBuilder b = new StringBuilder(parent);
    for (String p : parts) b.append('\0').append(p.length()).append(':').append(p);
    return Checksums.sha256Hex(b.toString());
  }

  /** The cached disk of {@code key}, if its entry is there and its file still is. */
  Optional<Path> find(String key) {
    return repo.use(nodeId, key, Instant.now()).map(e -> Path.of(e.diskPath())).filter(Files::isRegularFile);
  }

  /** Caches {@code disk} under {@code key}. */
  void put(String key, Path disk) {
    long bytes;
    try {
      bytes = Files.size(disk);
    } catch (IOException e) {
      bytes = 0;
    }
    Instant now = Instant.now();
    repo.put(new BuildCacheRepository.Entry(nodeId, key, disk.toString(), bytes, now, now));
  }

  /** Drops entries by age, then by size; returns how many. */
  int collect() {
    List<BuildCacheRepository.Entry> all = repo.allOn(nodeId);
    Instant oldest = Instant.now().minus(maxAge);
    long total = all.stream().mapToLong(BuildCacheRepository.Entry::bytes).sum();
    int dropped = 0;
    for (BuildCacheRepository.Entry e : all) {
      boolean stale = e.usedAt().isBefore(oldest);
      if (!stale && total <= maxBytes) continue;
      repo.delete(nodeId, e.key());
      total -= e.bytes();
      dropped++;
    }
    if (dropped > 0) log.info("build cache collected entries={} kept_bytes={}", dropped, total);
    return dropped;
  }
}
