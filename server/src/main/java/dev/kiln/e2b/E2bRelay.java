package dev.kiln.e2b;

import dev.kiln.api.Exchange;
import dev.kiln.api.NodeHop;
import dev.kiln.api.Route;
import dev.kiln.cluster.NodeDirectory;
import dev.kiln.cluster.NodeRoute;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * E2B's API on a control instance: each request goes to the node that runs its sandbox (a create to
 * the node placement picks for its template, a list to any node, since every node reads the rows
 * the cluster shares), which serves it as a combined daemon would and records it. A request a node
 * refuses comes back as the node answered it.
 */
final class E2bRelay {
  private final NodeDirectory directory;
  private final NodeHop hop;

  E2bRelay(NodeDirectory directory, NodeHop hop) {
    this.directory = directory;
    this.hop = hop;
  }

  /** {@code local}'s paths (the routes a combined daemon serves), each carried to a node; routes of no sandbox answer here as they do there. */
  List<Route> routes(List<Route> local) {
    List<Route> out = new ArrayList<>();
    for (Route r : local) {
      boolean collection = r.template().equals("/sandboxes") || r.template().equals("/v2/sandboxes");
      if (collection && r.method().equals("POST")) out.add(new Route(r.method(), r.template(), this::create));
      // Any node lists every sandbox of the cluster: its rows are in the store they share.
      else if (collection) out.add(new Route(r.method(), r.template(), x -> forward(x, directory.anyNode())));
      else if (r.template().contains("{id}")) out.add(new Route(r.method(), r.template(), x -> forward(x, directory.forSandbox(x.path("id"), false))));
      else out.add(r);
    }
    return out;
  }

  void envd(Exchange x, String sandboxId) throws Exception {
    NodeRoute node;
    try {
      node = directory.forSandbox(sandboxId, false);
    } catch (KilnException e) {
      if (e.code() != ErrorCode.SANDBOX_NOT_FOUND && e.code() != ErrorCode.SANDBOX_LOST && e.code() != ErrorCode.INVALID_REQUEST) throw e;
      Envd.notRunning(x, sandboxId);
      return;
    }
    hop.forward(x, node, Optional.empty());
  }

  private void create(Exchange x) throws Exception {
    byte[] body = x.jsonBytes();
    // Placement needs the template; the node reads the whole body again, strictly.
    String template = ProtoJson.parse(body, "the body").string("templateID", "");
    if (template.isEmpty()) throw ProtoJson.invalid("field 'templateID' is required (the name of a Kiln template)");
    forward(x, directory.forNewSandbox(Optional.empty(), Map.of(), template), Optional.of(body));
  }

  private void forward(Exchange x, NodeRoute node) throws IOException, InterruptedException {
    forward(x, node, Optional.empty());
  }

  private void forward(Exchange x, NodeRoute node, Optional<byte[]> body) throws IOException, InterruptedException {
    x.auditedElsewhere();
    hop.forward(x, node, body);
  }
}
