package dev.kiln.cluster;

import dev.kiln.store.LeaseRepository;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The cluster at a glance: how many nodes are up, down and cordoned, the capacity of those that
 * take sandboxes, what runs, and which node leads each cluster job.
 */
public record ClusterStatus(int nodes, int up, int down, int cordoned, int vcpus, long memoryMib, long diskFreeMib, int sandboxes,
    List<Leader> leaders) {
  /** A job's leader: the node holding its lease until {@code until}. */
  public record Leader(String job, String nodeId, Optional<String> nodeName, Instant until) {}

  public static ClusterStatus of(NodeRegistry registry, LeaseRepository leases) {
    List<Node> all = registry.list();
    List<Node> taking = all.stream().filter(Node::acceptsSandboxes).toList();
    Map<String, Node> byId = all.stream().collect(Collectors.toMap(Node::id, Function.identity()));
    List<Leader> leaders = leases.held(Instant.now()).stream()
        .map(l -> new Leader(l.name(), l.holder(), Optional.ofNullable(byId.get(l.holder())).map(Node::name), l.expiresAt())).toList();
    return new ClusterStatus(all.size(), (int) all.stream().filter(n -> n.state() == NodeState.UP).count(),
        (int) all.stream().filter(n -> n.state() == NodeState.DOWN).count(), (int) all.stream().filter(Node::cordoned).count(),
        taking.stream().mapToInt(n -> n.capacity().vcpus()).sum(), taking.stream().mapToLong(n -> n.capacity().memoryMib()).sum(),
        taking.stream().mapToLong(n -> n.capacity().diskFreeMib()).sum(), all.stream().mapToInt(n -> n.capacity().sandboxes()).sum(), leaders);
  }
}
