package dev.kiln.api;

import dev.kiln.cluster.ClusterStatus;
import dev.kiln.cluster.Node;
import dev.kiln.cluster.NodeRegistry;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.LeaseRepository;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** /v1/nodes (the hosts that run sandboxes, their capacity and liveness; cordon and uncordon) and /v1/cluster (all of it at a glance). */
final class ClusterRoutes {
  private final NodeRegistry nodes;
  private final LeaseRepository leases;

  ClusterRoutes(NodeRegistry nodes, LeaseRepository leases) {
    this.nodes = nodes;
    this.leases = leases;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/nodes", x -> x.json(200, Map.of("nodes", nodes.list().stream().map(ClusterRoutes::view).toList()))),
        new Route("GET", "/v1/nodes/{id}", x -> {
          Map<String, Object> m = view(nodes.get(x.path("id")));
          Optional<String> drain = nodes.drainOf(x.path("id"));
          if (drain.isPresent()) m.put("drain", Exchange.JSON.readTree(drain.get()));
          x.json(200, m);
        }),
        // A control instance carries this to the node (ControlRoutes); a single host has nowhere to drain to.
        new Route("POST", "/v1/nodes/{id}/drain", x -> {
          throw new KilnException(ErrorCode.INVALID_REQUEST, "a drain moves sandboxes to the other nodes of a cluster, through a control instance; "
              + "this daemon is a single host (or a node, which the control plane drains)");
        }),
        new Route("POST", "/v1/nodes/{id}/cordon", x -> x.json(200, view(nodes.cordon(x.path("id"))))),
        new Route("POST", "/v1/nodes/{id}/uncordon", x -> x.json(200, view(nodes.uncordon(x.path("id"))))),
        new Route("GET", "/v1/cluster", x -> x.json(200, view(ClusterStatus.of(nodes, leases)))));
  }

  static Map<String, Object> view(ClusterStatus s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("nodes", Map.of("total", s.nodes(), "up", s.up(), "down", s.down(), "cordoned", s.cordoned()));
    m.put("capacity", Map.of("vcpus", s.vcpus(), "memoryMib", s.memoryMib(), "diskFreeMib", s.diskFreeMib()));
    m.put("sandboxes", s.sandboxes());
    m.put("leaders", s.leaders().stream().map(l -> {
      Map<String, Object> j = new LinkedHashMap<>();
      j.put("job", l.job());
      j.put("node", l.nodeId());
      l.nodeName().ifPresent(n -> j.put("nodeName", n));
      j.put("until", l.until().toString());
      return j;
    }).toList());
    return m;
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
    m.put("labels", n.labels());
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
