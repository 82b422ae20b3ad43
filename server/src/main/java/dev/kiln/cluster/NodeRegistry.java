package dev.kiln.cluster;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.NodeRow;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The cluster's nodes as stored: registration, heartbeats, cordons, and marking silent ones down. */
public final class NodeRegistry {
  private static final Logger log = LoggerFactory.getLogger(NodeRegistry.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private final NodeRepository repo;

  public NodeRegistry(NodeRepository repo) {
    this.repo = repo;
  }

  /** The node's last drain as it recorded it (JSON), if it was ever drained. */
  public Optional<String> drainOf(String id) {
    return repo.drainOf(id);
  }

  /** A node starting: it is UP with this capacity; a cordon set before its restart stays. */
  public void register(String id, String name, String apiUrl, NodeRole role, NodeCapacity capacity, NodeCredential credential, Optional<String> proxyUrl,
      java.util.Map<String, String> labels) {
    Instant now = Instant.now();
    repo.register(new NodeRow(id, name, apiUrl, role.name(), NodeState.UP.name(), false, json(capacity), now, now, Optional.empty(),
        Optional.of(credential.value()), proxyUrl, json(labels)));
    log.info("node registered node={} name={} url={} role={} vcpus={} memory_mib={} accelerator={}", id, name, apiUrl, role.wire(),
        capacity.vcpus(), capacity.memoryMib(), capacity.accelerator());
  }

  /** Returns false if the node has no row any more: it must register again. */
  public boolean heartbeat(String id, NodeCapacity capacity) {
    return repo.heartbeat(id, json(capacity), Instant.now());
  }

  /** Marks nodes silent for longer than {@code downAfter} DOWN, with the reason; returns their ids. */
  public List<String> markSilentDown(Duration downAfter) {
    Instant now = Instant.now();
    String seconds = downAfter.toMillis() % 1000 == 0 ? Long.toString(downAfter.toSeconds()) : Double.toString(downAfter.toMillis() / 1000.0);
    List<String> down = repo.markDownIfSilentSince(now.minus(downAfter), "no heartbeat for " + seconds + " s (since before " + now.minus(downAfter) + ")");
    for (String id : down) log.warn("node down node={} reason=\"no heartbeat for {} s\"", id, seconds);
    return down;
  }

  /** A node stopping cleanly: DOWN at once, rather than once its heartbeats are missed. */
  public void stopped(String id) {
    repo.markDown(id, "its daemon stopped at " + Instant.now());
    log.info("node down node={} reason=\"its daemon stopped\"", id);
  }

  public List<Node> list() {
    return repo.all().stream().map(NodeRegistry::node).toList();
  }

  public Optional<Node> find(String id) {
    return repo.find(id).map(NodeRegistry::node);
  }

  /** How to reach the node, if it has registered a credential (a node of this version has). */
  public Optional<NodeRoute> route(String id) {
    return repo.find(id).flatMap(NodeRegistry::route);
  }

  /** How to reach every node that has published a credential, in one read. */
  public List<NodeRoute> routes() {
    return repo.all().stream().map(NodeRegistry::route).flatMap(Optional::stream).toList();
  }

  private static Optional<NodeRoute> route(NodeRow r) {
    if (r.credential().isEmpty()) return Optional.empty();
    if (!r.credential().get().matches("kn_[0-9a-f]{64}")) {
      log.warn("node={} has a credential in its row that is not one (written by hand?): nothing is routed to it until it registers again", r.id());
      return Optional.empty();
    }
    return Optional.of(new NodeRoute(r.id(), r.name(), java.net.URI.create(r.apiUrl()), r.proxyUrl().map(java.net.URI::create),
        new NodeCredential(r.credential().get()), NodeState.valueOf(r.state()) == NodeState.UP));
  }

  public Node get(String id) {
    return find(id).orElseThrow(() -> new KilnException(ErrorCode.NODE_NOT_FOUND, "no node with id '" + id + "' (kiln node list shows them)"));
  }

  /** No new sandbox is placed on the node until it is uncordoned; what runs there keeps running. */
  public Node cordon(String id) {
    return setCordoned(id, true);
  }

  public Node uncordon(String id) {
    return setCordoned(id, false);
  }

  private Node setCordoned(String id, boolean cordoned) {
    if (!repo.setCordoned(id, cordoned)) get(id); // throws NODE_NOT_FOUND
    log.info("node {} node={}", cordoned ? "cordoned" : "uncordoned", id);
    return get(id);
  }

  private static String json(java.util.Map<String, String> labels) {
    try {
      return JSON.writeValueAsString(new java.util.TreeMap<>(labels));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a map of strings is always serializable", e);
    }
  }

  private static String json(NodeCapacity c) {
    try {
      return JSON.writeValueAsString(c);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a capacity record is always serializable", e);
    }
  }

  private static Node node(NodeRow r) {
    NodeCapacity capacity;
    try {
      capacity = JSON.readValue(r.capacityJson(), NodeCapacity.class);
    } catch (JsonProcessingException e) {
      // A row written by another version of Kiln: the node is listed, its capacity unknown until its next heartbeat.
      capacity = new NodeCapacity(0, 0, 0, 0, List.of(), "unknown");
    }
    java.util.Map<String, String> labels;
    try {
      labels = JSON.readValue(r.labelsJson(), new com.fasterxml.jackson.core.type.TypeReference<java.util.Map<String, String>>() {});
    } catch (JsonProcessingException e) {
      labels = java.util.Map.of();
    }
    return new Node(r.id(), r.name(), r.apiUrl(), NodeRole.valueOf(r.role()), NodeState.valueOf(r.state()), r.cordoned(), capacity,
        r.registeredAt(), r.heartbeatAt(), r.downReason(), java.util.Map.copyOf(labels));
  }
}
