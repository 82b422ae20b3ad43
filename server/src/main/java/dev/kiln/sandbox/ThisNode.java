package dev.kiln.sandbox;

import java.util.Objects;

/**
 * The node this sandbox service runs on: the id its sandbox rows carry (everything it recovers,
 * collects or operates on is a row with that id), whether it takes new sandboxes now, and how many
 * nodes (this one among them) share the cluster's warm pools.
 */
public record ThisNode(String id, String name, java.util.Map<String, String> labels, Placement placement, java.util.function.IntSupplier poolSharers) {
  public ThisNode {
    Objects.requireNonNull(placement, "placement");
    Objects.requireNonNull(poolSharers, "poolSharers");
    if (id == null || id.isBlank()) throw new IllegalArgumentException("a node id is required");
  }

  /** Whether this node carries every label of a create's nodeSelector. */
  public boolean matches(java.util.Map<String, String> selector) {
    return labels.entrySet().containsAll(selector.entrySet());
  }

  /** Whether a create's node selector (an id or a name) names this node. */
  public boolean isNamed(String selector) {
    return id.equals(selector) || name.equals(selector);
  }
}
