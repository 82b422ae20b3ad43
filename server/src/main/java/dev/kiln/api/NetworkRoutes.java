package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.net.EgressPolicy;
import dev.kiln.net.NetworkMode;
import dev.kiln.net.NetworkSpec;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxNetworks;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** A sandbox's network: its rules (read, changed at runtime) and its raw TCP forwards. */
final class NetworkRoutes {
  private final SandboxManager sandboxes;

  NetworkRoutes(SandboxManager sandboxes) {
    this.sandboxes = sandboxes;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/sandboxes/{id}/network", x -> x.json(200, view(sandboxes.get(x.path("id")).network()))),
        new Route("PUT", "/v1/sandboxes/{id}/network", this::update),
        new Route("POST", "/v1/sandboxes/{id}/forwards", this::addForward),
        new Route("GET", "/v1/sandboxes/{id}/forwards", x -> x.json(200, Map.of("forwards", sandboxes.forwards(x.path("id"))))),
        new Route("DELETE", "/v1/sandboxes/{id}/forwards/{hostPort}", x -> {
          sandboxes.removeForward(x.path("id"), port(x.path("hostPort")));
          x.noContent();
        }));
  }

  private void update(Exchange x) throws Exception {
    String id = x.path("id");
    Bodies.NetworkRules b = x.body(Bodies.NetworkRules.class, null);
    NetworkSpec current = sandboxes.get(id).network().spec();
    EgressPolicy egress = EgressPolicy.parse(b.allowOut() != null ? b.allowOut() : current.egress().allowOut(),
        b.denyOut() != null ? b.denyOut() : current.egress().denyOut());
    x.audit("allowOut", egress.allowOut());
    x.audit("denyOut", egress.denyOut());
    if (b.egressMbit() != null) x.audit("egressMbit", b.egressMbit());
    if (b.ingressMbit() != null) x.audit("ingressMbit", b.ingressMbit());
    x.json(200, view(sandboxes.updateNetwork(id, egress, b.egressMbit() != null ? b.egressMbit() : current.egressMbit(),
        b.ingressMbit() != null ? b.ingressMbit() : current.ingressMbit()).network()));
  }

  private void addForward(Exchange x) throws Exception {
    Bodies.Forward b = x.body(Bodies.Forward.class, null);
    if (b.guestPort() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'guestPort' is required");
    x.json(201, sandboxes.addForward(x.path("id"), b.guestPort(), b.hostPort() == null ? 0 : b.hostPort()));
  }

  private static int port(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "host port must be a number, got '" + s + "'");
    }
  }

  /** The create request's network object as a spec; a bad one is a 400 naming the field. */
  static NetworkSpec spec(Bodies.Network n) {
    String mode = n.mode() == null ? "internet" : n.mode();
    NetworkMode m = switch (mode.toLowerCase(Locale.ROOT)) {
      case "none" -> NetworkMode.NONE;
      case "internet" -> NetworkMode.INTERNET;
      default -> throw new KilnException(ErrorCode.INVALID_REQUEST, "network.mode must be \"none\" or \"internet\", got \"" + mode + "\"");
    };
    try {
      return new NetworkSpec(m, EgressPolicy.parse(n.allowOut(), n.denyOut()), Optional.ofNullable(n.group()), Boolean.TRUE.equals(n.isPublic()),
          n.egressMbit() == null ? 0 : n.egressMbit(), n.ingressMbit() == null ? 0 : n.ingressMbit());
    } catch (IllegalArgumentException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "network: " + e.getMessage(), e);
    }
  }

  static Map<String, Object> view(SandboxNetworks.View v) {
    Map<String, Object> m = new LinkedHashMap<>();
    NetworkSpec s = v.spec();
    m.put("mode", s.mode().name().toLowerCase(Locale.ROOT));
    if (!s.hasDevice()) return m;
    m.put("allowOut", s.egress().allowOut());
    m.put("denyOut", s.egress().denyOut());
    m.put("group", s.group().orElse(null));
    m.put("public", s.isPublic());
    m.put("egressMbit", s.egressMbit());
    m.put("ingressMbit", s.ingressMbit());
    v.address().ifPresent(a -> m.put("address", a));
    v.accessToken().ifPresent(t -> m.put("accessToken", t));
    return m;
  }
}
