package dev.kiln.access;

import java.util.OptionalLong;

/**
 * A key's limits on what it holds at once; empty is no limit. Sandboxes count in every state (a
 * paused one keeps its place), with their vCPUs and memory (docs/adr/0022).
 */
public record KeyLimits(OptionalLong sandboxes, OptionalLong vcpus, OptionalLong memoryMib, OptionalLong templates) {
  public static final KeyLimits NONE = new KeyLimits(OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty(), OptionalLong.empty());

  public KeyLimits {
    check("maxSandboxes", sandboxes);
    check("maxVcpus", vcpus);
    check("maxMemoryMib", memoryMib);
    check("maxTemplates", templates);
  }

  public boolean none() {
    return sandboxes.isEmpty() && vcpus.isEmpty() && memoryMib.isEmpty() && templates.isEmpty();
  }

  private static void check(String name, OptionalLong v) {
    if (v.isPresent() && (v.getAsLong() < 0 || v.getAsLong() > 1_000_000_000L)) {
      throw new IllegalArgumentException(name + " must be 0..1000000000, got " + v.getAsLong());
    }
  }
}
