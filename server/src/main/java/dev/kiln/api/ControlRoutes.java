package dev.kiln.api;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.cluster.NodeDirectory;
import dev.kiln.cluster.NodeRegistry;
import dev.kiln.cluster.NodeRoute;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.LeaseRepository;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;

/**
 * A control instance's API (docs/adr/0017): the same routes as a combined daemon's, so a client
 * cannot tell them apart. The cluster's own routes and /healthz are answered here; every other
 * route is carried to a node: the one that runs the sandbox it names, the one placement picks for
 * a new sandbox, or the one all control instances agree on for templates and pools.
 */
final class ControlRoutes {
  private final NodeDirectory directory;
  private final HttpHop hop;

  private ControlRoutes(NodeDirectory directory, HttpHop hop) {
    this.directory = directory;
    this.hop = hop;
  }

  static List<Route> routes(NodeDirectory directory, NodeRegistry nodes, LeaseRepository leases, dev.kiln.access.ApiKeys keys,
      dev.kiln.audit.AuditLog auditLog, HttpHop hop) {
    ControlRoutes control = new ControlRoutes(directory, hop);
    List<Route> out = new ArrayList<>();
    // The route table with no sandbox service behind it: only its methods, paths and the cluster's handlers are used.
    for (Route r : ApiServer.routeTable(null, null, null, null, null, nodes, leases, keys, auditLog)) {
      if (r.template().equals("/v1/nodes/{id}/drain")) {
        out.add(new Route(r.method(), r.template(), x -> control.drain(x, nodes)));
        continue;
      }
      boolean local = r.template().equals("/healthz") || r.template().startsWith("/v1/nodes") || r.template().equals("/v1/cluster")
          || r.template().startsWith("/v1/keys") || r.template().startsWith("/v1/audit");
      out.add(local ? r : new Route(r.method(), r.template(), x -> control.forward(x, r)));
    }
    return out;
  }

  private void forward(Exchange x, Route r) throws Exception {
    // The node that carries it out records it, with what only it knows (an exit code, a sha256).
    x.auditedElsewhere();
    Optional<byte[]> body = Optional.empty();
    NodeRoute node;
    if (r.method().equals("POST") && r.template().equals("/v1/sandboxes/{id}/resume")) {
      resume(x);
      return;
    }
    if (r.method().equals("POST") && r.template().equals("/v1/sandboxes/{id}/fork")) {
      fork(x);
      return;
    }
    if (r.template().equals("/v1/sandboxes") && r.method().equals("POST")) {
      // Read here because placement needs its template and node selector; JSON bodies are small.
      byte[] raw = x.jsonBytes();
      body = Optional.of(raw);
      node = placeNew(raw);
    } else if (r.template().startsWith("/v1/sandboxes/{id}")) {
      boolean rowOnly = r.method().equals("GET") && (r.template().equals("/v1/sandboxes/{id}") || r.template().endsWith("/events"));
      node = directory.forSandbox(x.path("id"), rowOnly);
      if (rowOnly) {
        readRow(x, node);
        return;
      }
      if (!isWebSocketUpgrade(x) && smallBody(x)) {
        toWhereItRuns(x, node, rowOnly);
        return;
      }
    } else {
      node = directory.anyNode();
    }
    if (isWebSocketUpgrade(x)) {
      Optional<WebSocketHop.Bridge> bridge = WebSocketHop.open(hop, x, node);
      if (bridge.isPresent()) {
        if (!x.upgradeToWebSocket(bridge.get())) {
          bridge.get().abandon();
          throw new KilnException(ErrorCode.INVALID_REQUEST, "the WebSocket upgrade was refused");
        }
        return;
      }
      // The node refused the handshake: the same request as plain HTTP gets its reason (404, 409…).
    }
    hop.forward(x, node, body);
  }

  /**
   * A request about one sandbox, sent again where its row says once if the node answered that it
   * does not run it (421: it moved by a live migration after the row was read here, or while the
   * request waited there for the migration to end). Only for bodies read whole: a streamed one
   * cannot be sent twice, and a client gets that 421 as it is.
   */
  private void toWhereItRuns(Exchange x, NodeRoute node, boolean rowOnly) throws Exception {
    byte[] body = x.request.getLength() == 0 ? new byte[0] : x.jsonBytes();
    if (hop.forwardUnlessMoved(x, node, body)) return;
    hop.forward(x, directory.forSandbox(x.path("id"), rowOnly), Optional.of(body));
  }

  /** A body known to fit in memory (at most a JSON body's limit): it can be sent twice. */
  private static boolean smallBody(Exchange x) {
    long length = x.request.getLength();
    return length >= 0 && length <= Exchange.MAX_JSON_BODY;
  }

  /**
   * A drain (docs/adr/0019): the node is cordoned here first, so that placement stops sending it
   * sandboxes, then told to move what it runs; it reports its progress in the store.
   */
  private void drain(Exchange x, NodeRegistry nodes) throws Exception {
    String id = x.path("id");
    byte[] body = x.jsonBytes();
    nodes.cordon(id);
    NodeRoute node = nodes.route(id).filter(NodeRoute::up)
        .orElseThrow(() -> new KilnException(ErrorCode.NO_NODE_AVAILABLE, "node " + id + " is down: a drain needs it up (its paused sandboxes "
            + "move to another node when resumed; running ones come back when it does)"));
    HttpHop.relayWhole(x, hop.call(node, NodeInternalRoutes.DRAIN, body));
  }

  /**
   * A read of a sandbox's row: any node can answer it from the store, so a node that does not
   * answer (killed, and not yet marked down) is passed over for the next one that is up.
   */
  private void readRow(Exchange x, NodeRoute first) throws Exception {
    KilnException unreachable;
    try {
      toWhereItRuns(x, first, true);
      return;
    } catch (KilnException e) {
      if (e.code() != ErrorCode.NODE_UNREACHABLE || x.response.isCommitted()) throw e;
      unreachable = e;
    }
    for (NodeRoute other : directory.upNodes()) {
      if (other.nodeId().equals(first.nodeId())) continue;
      try {
        hop.forward(x, other, Optional.empty());
        return;
      } catch (KilnException e) {
        if (e.code() != ErrorCode.NODE_UNREACHABLE || x.response.isCommitted()) throw e;
      }
    }
    throw unreachable;
  }

  /**
   * A resume goes to the sandbox's node; if that node is down, a node placement picks first takes
   * the paused sandbox over from its state in the object store, then resumes it.
   */
  private void resume(Exchange x) throws Exception {
    String id = x.path("id");
    NodeRoute node;
    try {
      node = directory.forSandbox(id, false);
    } catch (KilnException e) {
      if (e.code() != ErrorCode.SANDBOX_LOST) throw e;
      node = directory.placeElsewhere(id, Optional.empty());
      HttpResponse<byte[]> adopted = hop.call(node, NodeInternalRoutes.path(NodeInternalRoutes.ADOPT, id, null), new byte[0]);
      if (adopted.statusCode() != 200) {
        HttpHop.relayWhole(x, adopted);
        return;
      }
    }
    hop.forward(x, node, Optional.empty());
  }

  /**
   * A fork of the live state runs on the sandbox's node. A fork of a checkpoint runs where the
   * request's {@code node} says, or on the sandbox's node, or (that node being down) where placement
   * puts it; on a node other than the sandbox's, from the checkpoint in the object store.
   */
  private void fork(Exchange x) throws Exception {
    String id = x.path("id");
    byte[] raw = x.jsonBytes();
    JsonNode req = parse(raw);
    Optional<String> checkpoint = text(req, "checkpoint");
    Optional<String> selector = text(req, "node");
    NodeRoute owner = null;
    try {
      owner = directory.forSandbox(id, false);
    } catch (KilnException e) {
      if (e.code() != ErrorCode.SANDBOX_LOST || checkpoint.isEmpty()) throw e;
    }
    NodeRoute target = selector.isPresent() || owner == null ? directory.placeElsewhere(id, selector) : owner;
    if (owner != null && target.nodeId().equals(owner.nodeId())) {
      hop.forward(x, owner, Optional.of(raw));
      return;
    }
    if (checkpoint.isEmpty()) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "a fork of the live state runs on the sandbox's own node; to fork on node " + target.nodeName()
          + ", take a checkpoint and fork that");
    }
    // The count is the node's to check, as on the sandbox's own node: passed on as it came.
    java.util.Map<String, Object> fork = new java.util.HashMap<>();
    if (req.has("count")) fork.put("count", req.get("count"));
    byte[] body = Exchange.JSON.writeValueAsBytes(fork);
    HttpHop.relayWhole(x, hop.call(target, NodeInternalRoutes.path(NodeInternalRoutes.FORK_CHECKPOINT, id, checkpoint.get()), body, x.caller()));
  }

  private static JsonNode parse(byte[] raw) {
    try {
      JsonNode n = Exchange.JSON.readTree(raw);
      return n != null && n.isObject() ? n : null;
    } catch (IOException e) {
      return null;
    }
  }

  private static Optional<String> text(JsonNode req, String field) {
    return req != null && req.path(field).isTextual() ? Optional.of(req.path(field).asText()) : Optional.empty();
  }

  /** The node for a create. A body that is not a create request goes to any node, which answers with what is wrong with it. */
  private NodeRoute placeNew(byte[] raw) {
    JsonNode req = parse(raw);
    Optional<String> template = text(req, "template");
    if (template.isEmpty()) return directory.anyNode();
    Map<String, String> labels = new java.util.TreeMap<>();
    req.path("nodeSelector").properties().forEach(e -> {
      if (e.getValue().isTextual()) labels.put(e.getKey(), e.getValue().asText());
    });
    return directory.forNewSandbox(text(req, "node"), labels, template.get());
  }

  private static boolean isWebSocketUpgrade(Exchange x) {
    String upgrade = x.request.getHeaders().get(HttpHeader.UPGRADE);
    return upgrade != null && upgrade.equalsIgnoreCase("websocket");
  }
}
