package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.WarmPools;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/pools: warm pools of restored, paused VMs per template. */
final class PoolRoutes {
  private final SandboxManager sandboxes;

  PoolRoutes(SandboxManager sandboxes) {
    this.sandboxes = sandboxes;
  }

  List<Route> routes() {
    return List.of(
        new Route("GET", "/v1/pools", x -> x.json(200, Map.of("pools", sandboxes.pools().list().stream().map(PoolRoutes::view).toList()))),
        new Route("PUT", "/v1/pools/{template}", x -> {
          Bodies.PoolSize b = x.body(Bodies.PoolSize.class, null);
          if (b.minReady() == null || b.maxReady() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "fields 'minReady' and 'maxReady' are required");
          x.json(200, view(sandboxes.pools().configure(x.path("template"), b.minReady(), b.maxReady())));
        }),
        new Route("DELETE", "/v1/pools/{template}", x -> {
          if (!sandboxes.pools().remove(x.path("template"))) {
            throw new KilnException(ErrorCode.POOL_NOT_FOUND, "template '" + x.path("template") + "' has no warm pool");
          }
          x.noContent();
        }));
  }

  static Map<String, Object> view(WarmPools.Status s) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("template", s.template());
    m.put("minReady", s.minReady());
    m.put("maxReady", s.maxReady());
    m.put("ready", s.ready());
    m.put("filling", s.filling());
    m.put("claims", s.claims());
    m.put("misses", s.misses());
    s.lastError().ifPresent(e -> m.put("lastError", e));
    return m;
  }
}
