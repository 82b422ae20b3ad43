package dev.kiln.host;

import java.util.Locale;

/**
 * Where the time of one operation went, phase by phase, for its log line: {@code vm_ms=212.4
 * agent_ms=3.1 ...}. Not thread-safe: one operation's thread records its own laps.
 */
public final class Laps {
  private final long start = System.nanoTime();
  private long last = start;
  private final StringBuilder laps = new StringBuilder();

  /** Ends the phase called {@code name}, which began at the previous lap (or the start). */
  public void lap(String name) {
    long now = System.nanoTime();
    if (!laps.isEmpty()) laps.append(' ');
    laps.append(name).append("_ms=").append(String.format(Locale.ROOT, "%.1f", (now - last) / 1e6));
    last = now;
  }

  public long totalMs() {
    return (System.nanoTime() - start) / 1_000_000;
  }

  @Override
  public String toString() {
    return laps.toString();
  }
}
