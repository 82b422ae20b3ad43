package dev.kiln.cluster;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Which node a control instance sends a request to (docs/adr/0017): the node that runs the sandbox
 * it names, a node chosen for a new sandbox, or, for requests about no sandbox (templates, pools),
 * one node every control instance agrees on. Read from the store at each call, so that any number
 * of control instances route alike without talking to each other.
 */
public final class NodeDirectory {
  /** Candidates drawn at random for a new sandbox; the best of them is taken ("power of d choices", as E2B places). */
  private static final int CANDIDATES = 3;
  /** What pulling a template weighs against load: as much as one more sandbox per core. */
  private static final double UNCACHED = 1.0;
  private final NodeRegistry nodes;
  private final SandboxRepository sandboxes;

  public NodeDirectory(NodeRegistry nodes, SandboxRepository sandboxes) {
    this.nodes = nodes;
    this.sandboxes = sandboxes;
  }

  /**
   * The node that runs the sandbox. A sandbox with no row goes to any node, which answers 404 (or
   * its tombstone). On a node that is down, reads of its row go to any node that is up (they read
   * only the shared store); anything else is 503 SANDBOX_LOST.
   */
  public NodeRoute forSandbox(String sandboxId, boolean readsRowOnly) {
    Optional<SandboxRow> row = sandboxes.find(sandboxId);
    if (row.isEmpty() || row.get().nodeId().isEmpty()) return anyNode();
    String nodeId = row.get().nodeId();
    Optional<NodeRoute> route = nodes.route(nodeId);
    if (route.isPresent() && route.get().up()) return route.get();
    if (readsRowOnly) return anyNode();
    String why = nodes.find(nodeId).flatMap(Node::downReason).orElse("it is not registered");
    throw new KilnException(ErrorCode.SANDBOX_LOST, "sandbox " + sandboxId + " runs on node " + route.map(NodeRoute::nodeName).orElse(nodeId)
        + " (" + nodeId + "), which is down (" + why + "); nothing reaches it until the node is back");
  }

  /**
   * The node for requests about no sandbox (template builds, pools, capabilities): the first node up
   * by id, so that every control instance sends a template's build and its log requests to the same
   * node while it lives.
   */
  public NodeRoute anyNode() {
    return upNodes().stream().findFirst().orElseThrow(() -> new KilnException(ErrorCode.NO_NODE_AVAILABLE, "no node of the cluster is up (kiln node list)"));
  }

  /**
   * A node for a sandbox's saved state to go on from (a paused sandbox whose node is down taken
   * over, a checkpoint forked): the one named, else placed like a new sandbox of its template.
   */
  public NodeRoute placeElsewhere(String sandboxId, Optional<String> selector) {
    SandboxRow row = sandboxes.find(sandboxId).orElseThrow(() -> new KilnException(ErrorCode.SANDBOX_NOT_FOUND, "no sandbox '" + sandboxId + "'"));
    return forNewSandbox(selector, Map.of(), row.template());
  }

  /**
   * Where a running sandbox can move (a live migration): the node named, else placed like a new
   * sandbox of its template; never the node it runs on.
   */
  public NodeRoute forMove(String sandboxId, Optional<String> selector) {
    SandboxRow row = sandboxes.find(sandboxId).orElseThrow(() -> new KilnException(ErrorCode.SANDBOX_NOT_FOUND, "no sandbox '" + sandboxId + "'"));
    if (selector.isPresent()) {
      NodeRoute named = forNewSandbox(selector, Map.of(), row.template());
      if (named.nodeId().equals(row.nodeId())) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "sandbox " + sandboxId + " runs on node " + named.nodeName() + " already");
      }
      return named;
    }
    return place(row.template(), Map.of(), n -> !n.id().equals(row.nodeId()));
  }

  /** Every node that is up, by id. */
  public List<NodeRoute> upNodes() {
    return nodes.routes().stream().filter(NodeRoute::up).sorted(Comparator.comparing(NodeRoute::nodeId)).toList();
  }

  /**
   * A node for a new sandbox of {@code template}: the one named by {@code selector} (its id or
   * name), else the best of a few random nodes that take sandboxes and carry every label of
   * {@code labels}, by sandboxes per core with a handicap for not having the template cached.
   */
  public NodeRoute forNewSandbox(Optional<String> selector, Map<String, String> labels, String template) {
    if (selector.isPresent()) {
      String want = selector.get();
      Node named = nodes.list().stream().filter(n -> n.id().equals(want) || n.name().equals(want)).findFirst()
          .orElseThrow(() -> new KilnException(ErrorCode.NODE_NOT_FOUND, "no node with id or name '" + want + "' (kiln node list shows them)"));
      if (!named.matches(labels)) {
        throw new KilnException(ErrorCode.NO_NODE_AVAILABLE, "node " + named.name() + " does not carry the labels " + labels + " (it has " + named.labels() + ")");
      }
      if (!named.acceptsSandboxes()) {
        throw new KilnException(ErrorCode.NO_NODE_AVAILABLE, "node " + named.name() + " (" + named.id() + ") takes no new sandboxes: it is "
            + (named.cordoned() ? "cordoned" : "down"));
      }
      return routeOf(named);
    }
    return place(template, labels, n -> true);
  }

  private NodeRoute place(String template, Map<String, String> labels, java.util.function.Predicate<Node> also) {
    List<Node> open = new ArrayList<>(nodes.list().stream().filter(Node::acceptsSandboxes).filter(n -> n.matches(labels)).filter(also).toList());
    if (open.isEmpty()) {
      throw new KilnException(ErrorCode.NO_NODE_AVAILABLE, labels.isEmpty() ? "no node takes new sandboxes: every one is cordoned or down (kiln node list)"
          : "no node that takes new sandboxes carries the labels " + labels + " (kiln node list shows each node's)");
    }
    Collections.shuffle(open, ThreadLocalRandom.current());
    Map<String, Integer> running = sandboxes.countByNode();
    Node best = open.subList(0, Math.min(CANDIDATES, open.size())).stream()
        .min(Comparator.comparingDouble(n -> score(n, running.getOrDefault(n.id(), 0), template))).orElseThrow();
    return routeOf(best);
  }

  /**
   * Lower is better: sandboxes per core, plus {@link #UNCACHED} when the node would first have to
   * pull the template. Locality decides between nodes about as loaded, load between the rest, so
   * that a template built on one node does not keep every sandbox there.
   */
  private static double score(Node n, int running, String template) {
    return (double) running / Math.max(1, n.capacity().vcpus()) + (n.capacity().templates().contains(template) ? 0 : UNCACHED);
  }

  private NodeRoute routeOf(Node n) {
    return nodes.route(n.id()).orElseThrow(() -> new KilnException(ErrorCode.NO_NODE_AVAILABLE, "node " + n.name() + " (" + n.id()
        + ") has published no credential: it runs a daemon older than the control plane"));
  }
}
