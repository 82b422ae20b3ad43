package dev.kiln.cluster;

import java.time.Instant;
import java.util.Optional;

/** A node as the cluster sees it: its identity, liveness, cordon and last reported capacity. */
public record Node(String id, String name, String apiUrl, NodeRole role, NodeState state, boolean cordoned, NodeCapacity capacity,
    Instant registeredAt, Instant heartbeatAt, Optional<String> downReason, java.util.Map<String, String> labels) {
  /** New sandboxes may be placed on it: it is up and not cordoned. */
  public boolean acceptsSandboxes() {
    return state == NodeState.UP && !cordoned;
  }

  /** Whether it carries every label of {@code selector} (an empty selector matches every node). */
  public boolean matches(java.util.Map<String, String> selector) {
    return labels.entrySet().containsAll(selector.entrySet());
  }
}
