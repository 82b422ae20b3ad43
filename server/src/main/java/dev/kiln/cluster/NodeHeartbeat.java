package dev.kiln.cluster;

import dev.kiln.store.StoreException;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This daemon's host as a node: registered at start, then a heartbeat with its capacity at every
 * {@link #beat}. A node that cannot reach the store keeps its VMs running and reports again when
 * the store is back; one whose row is gone registers again.
 */
public final class NodeHeartbeat {
  private static final Logger log = LoggerFactory.getLogger(NodeHeartbeat.class);
  private final NodeRegistry registry;
  private final String id;
  private final String name;
  private final String apiUrl;
  private final NodeRole role;
  private final Supplier<NodeCapacity> capacity;
  private final NodeCredential credential;
  private final Optional<String> proxyUrl;
  private final java.util.Map<String, String> labels;
  private volatile boolean storeFailing;

  public NodeHeartbeat(NodeRegistry registry, String id, String name, String apiUrl, NodeRole role, Supplier<NodeCapacity> capacity,
      NodeCredential credential, Optional<String> proxyUrl, java.util.Map<String, String> labels) {
    this.labels = labels;
    this.credential = credential;
    this.proxyUrl = proxyUrl;
    this.registry = registry;
    this.id = id;
    this.name = name;
    this.apiUrl = apiUrl;
    this.role = role;
    this.capacity = capacity;
  }

  public String nodeId() {
    return id;
  }

  public void register() {
    registry.register(id, name, apiUrl, role, capacity.get(), credential, proxyUrl, labels);
  }

  public void beat() {
    try {
      if (!registry.heartbeat(id, capacity.get())) {
        log.warn("node={} has no row (removed while it ran): registering again", id);
        register();
      }
      if (storeFailing) log.info("node={} reaches the store again; heartbeats resumed", id);
      storeFailing = false;
    } catch (StoreException e) {
      if (!storeFailing) log.warn("node={} heartbeat not stored (its sandboxes keep running; retrying): {}", id, e.getMessage());
      storeFailing = true;
    }
  }
}
