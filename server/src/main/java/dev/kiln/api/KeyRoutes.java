package dev.kiln.api;

import dev.kiln.access.ApiKeys;
import dev.kiln.access.IssuedKey;
import dev.kiln.access.KeyInfo;
import dev.kiln.access.KeyLimits;
import dev.kiln.access.Role;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

/** /v1/keys (admin keys only): make a key (shown once), list keys (never shown again), revoke one at once. */
final class KeyRoutes {
  private final ApiKeys keys;

  KeyRoutes(ApiKeys keys) {
    this.keys = keys;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/keys", this::create),
        new Route("GET", "/v1/keys", x -> x.json(200, Map.of("keys", keys.list().stream().map(KeyRoutes::view).toList()))),
        new Route("DELETE", "/v1/keys/{id}", x -> {
          x.audit("key", x.path("id"));
          keys.revoke(x.path("id"));
          x.noContent();
        }));
  }

  private void create(Exchange x) throws Exception {
    Bodies.CreateKey b = x.body(Bodies.CreateKey.class, null);
    if (b.name() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'name' is required");
    Role role = b.role() == null ? Role.USER : Role.fromWire(b.role());
    KeyLimits limits = new KeyLimits(optional(b.maxSandboxes()), optional(b.maxVcpus()), optional(b.maxMemoryMib()), optional(b.maxTemplates()));
    IssuedKey issued = keys.create(b.name(), role, limits);
    x.audit("key", issued.info().id());
    x.audit("name", issued.info().name());
    x.audit("role", role.wire());
    Map<String, Object> m = view(issued.info());
    m.put("key", issued.key());
    x.json(201, m);
  }

  private static OptionalLong optional(Long v) {
    return v == null ? OptionalLong.empty() : OptionalLong.of(v);
  }

  static Map<String, Object> view(KeyInfo k) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", k.id());
    m.put("name", k.name());
    m.put("role", k.role().wire());
    m.put("prefix", k.prefix());
    m.put("createdAt", k.createdAt().toString());
    m.put("revokedAt", k.revokedAt().map(Object::toString).orElse(null));
    Map<String, Object> limits = new LinkedHashMap<>();
    limits.put("maxSandboxes", value(k.limits().sandboxes()));
    limits.put("maxVcpus", value(k.limits().vcpus()));
    limits.put("maxMemoryMib", value(k.limits().memoryMib()));
    limits.put("maxTemplates", value(k.limits().templates()));
    m.put("limits", limits);
    return m;
  }

  private static Long value(OptionalLong v) {
    return v.isPresent() ? v.getAsLong() : null;
  }
}
