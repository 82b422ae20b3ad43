package dev.kiln.cluster;

import java.time.Instant;
import java.util.Optional;

/** A node as the cluster sees it: its identity, liveness, cordon and last reported capacity. */
public record Node(String id, String name, String apiUrl, NodeRole role, NodeState state, boolean cordoned, NodeCapacity capacity,
    Instant registeredAt, Instant heartbeatAt, Optional<String> downReason) {
  /** New sandboxes may be placed on it: it is up and not cordoned. */
  public boolean acceptsSandboxes() {
    return state == NodeState.UP && !cordoned;
  }
}
