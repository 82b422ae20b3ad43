package dev.kiln.sandbox;

import java.util.List;

/**
 * A live migration as the source node offers it to the target (docs/adr/0019): which sandbox, at
 * which row version (the target's commit is a compare-and-set on it), the VM as it runs on the
 * source, and the frozen layers of its disk, in the bucket already, from the top down, on the
 * template artifact {@code base}.
 */
public record MigrationOffer(String migrationId, String sandboxId, long version, String fromNode, String vmJson, List<Layer> below, String base) {
  /** A frozen disk layer in the bucket, and its name in a data directory's {@code disks/}. */
  public record Layer(String key, String name) {}

  public MigrationOffer {
    if (!migrationId.matches("[0-9a-f]{32}")) throw new IllegalArgumentException("migration id must be 32 hex digits");
    if (!SandboxId.isValid(sandboxId)) throw new IllegalArgumentException("not a sandbox id: " + sandboxId);
    below = List.copyOf(below);
  }

  BucketStates.Chain chain() {
    return new BucketStates.Chain(below.stream().map(l -> new BucketStates.Layer(l.key(), l.name())).toList(), base);
  }
}
