package dev.kiln.sandbox;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The last hour of each running sandbox's usage on this node, one sample every {@link #EVERY}:
 * what the web console's charts draw. Kept in memory (about 25 KiB a sandbox): a restarted
 * daemon starts its charts again, which is worth less than a table written every 15 seconds.
 */
final class UsageHistory {
  static final Duration EVERY = Duration.ofSeconds(15);
  static final Duration KEPT = Duration.ofHours(1);
  private static final int MAX_SAMPLES = (int) (KEPT.toSeconds() / EVERY.toSeconds());
  private final Supplier<List<SandboxUsage>> source;
  private final Map<String, ArrayDeque<SandboxUsage>> samples = new ConcurrentHashMap<>();

  UsageHistory(Supplier<List<SandboxUsage>> source) {
    this.source = source;
  }

  /** One sample of every sandbox running here; one not running (paused, moved, deleted) keeps its samples until they are an hour old. */
  void sample() {
    Set<String> seen = new HashSet<>();
    for (SandboxUsage u : source.get()) {
      seen.add(u.id());
      ArrayDeque<SandboxUsage> kept = samples.computeIfAbsent(u.id(), k -> new ArrayDeque<>());
      synchronized (kept) {
        kept.addLast(u);
        while (kept.size() > MAX_SAMPLES) kept.removeFirst();
      }
    }
    Instant cutoff = Instant.now().minus(KEPT);
    samples.entrySet().removeIf(e -> {
      if (seen.contains(e.getKey())) return false;
      synchronized (e.getValue()) {
        return e.getValue().isEmpty() || e.getValue().getLast().at().isBefore(cutoff);
      }
    });
  }

  /** Oldest first; empty for a sandbox not sampled yet. */
  List<SandboxUsage> of(String id) {
    ArrayDeque<SandboxUsage> kept = samples.get(id);
    if (kept == null) return List.of();
    synchronized (kept) {
      return List.copyOf(kept);
    }
  }
}
