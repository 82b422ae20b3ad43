package dev.kiln.api;

import dev.kiln.cluster.Node;
import dev.kiln.cluster.NodeRegistry;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/nodes: the hosts that run sandboxes, their capacity and liveness; cordon and uncordon. */
final class NodeRoutes {
  private final NodeRegistry nodes;

  NodeRoutes(NodeRegistry nodes) {
    this.nodes = nodes;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/nodes", x -> x.json(200, Map.of("nodes", nodes.list().stream().map(NodeRoutes::view).toList()))),
        new Route("GET", "/v1/nodes/{id}", x -> x.json(200, view(nodes.get(x.path("id"))))),
        new Route("POST", "/v1/nodes/{id}/cordon", x -> x.json(200, view(nodes.cordon(x.path("id"))))),
        new Route("POST", "/v1/nodes/{id}/uncordon", x -> x.json(200, view(nodes.uncordon(x.path("id"))))));
  }

  static Map<String, Object> view(Node n) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", n.id());
    m.put("name", n.name());
    m.put("url", n.apiUrl());
    m.put("role", n.role().wire());
    m.put("state", n.state().wire());
    m.put("cordoned", n.cordoned());
    m.put("acceptsSandboxes", n.acceptsSandboxes());
    var c = n.capacity();
    m.put("capacity", Map.of("vcpus", c.vcpus(), "memoryMib", c.memoryMib(), "diskFreeMib", c.diskFreeMib(), "accelerator", c.accelerator()));
    m.put("sandboxes", c.sandboxes());
    m.put("templates", c.templates());
    m.put("registeredAt", n.registeredAt().toString());
    m.put("heartbeatAt", n.heartbeatAt().toString());
    n.downReason().ifPresent(r -> m.put("downReason", r));
    return m;
  }
}
