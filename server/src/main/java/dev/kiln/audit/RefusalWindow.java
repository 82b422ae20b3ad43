package dev.kiln.audit;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * How often one source's refusals (or one sandbox's denials) are recorded: the first of each
 * window, with the number not recorded since, so a flood costs the trail one record a window.
 * At most {@value #MAX_SOURCES} sources are remembered; past that the memory starts over, which
 * can only record more, never less.
 */
public final class RefusalWindow {
  private static final int MAX_SOURCES = 10_000;
  private final long windowNanos;
  private final Map<String, long[]> seen = new HashMap<>();

  /** Whether to record this one, and how many of the source's were not recorded before it. */
  public record Verdict(boolean record, long suppressed) {}

  public RefusalWindow(Duration window) {
    this.windowNanos = window.toNanos();
  }

  public synchronized Verdict admit(String source) {
    long now = System.nanoTime();
    if (seen.size() >= MAX_SOURCES && !seen.containsKey(source)) seen.clear();
    long[] s = seen.get(source);
    if (s == null || now - s[0] >= windowNanos) {
      long suppressed = s == null ? 0 : s[1];
      seen.put(source, new long[] {now, 0});
      return new Verdict(true, suppressed);
    }
    s[1]++;
    return new Verdict(false, s[1]);
  }
}
