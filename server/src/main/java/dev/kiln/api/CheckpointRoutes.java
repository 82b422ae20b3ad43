package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.Checkpoints;
import dev.kiln.sandbox.SandboxManager;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Checkpoints, restore in place, fork, and a sandbox's events. */
final class CheckpointRoutes {
  private final SandboxManager sandboxes;

  CheckpointRoutes(SandboxManager sandboxes) {
    this.sandboxes = sandboxes;
  }

  List<Route> routes() {
    return List.of(
        new Route("POST", "/v1/sandboxes/{id}/checkpoints", x -> {
          Bodies.CreateCheckpoint b = x.body(Bodies.CreateCheckpoint.class, null);
          if (b.name() == null) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'name' is required");
          x.json(201, view(sandboxes.checkpoints().create(x.path("id"), b.name())));
        }),
        new Route("GET", "/v1/sandboxes/{id}/checkpoints",
            x -> x.json(200, Map.of("checkpoints", sandboxes.checkpoints().list(x.path("id")).stream().map(CheckpointRoutes::view).toList()))),
        new Route("DELETE", "/v1/sandboxes/{id}/checkpoints/{name}", x -> {
          sandboxes.checkpoints().delete(x.path("id"), x.path("name"));
          x.noContent();
        }),
        new Route("POST", "/v1/sandboxes/{id}/checkpoints/{name}/restore",
            x -> x.json(200, SandboxRoutes.view(sandboxes.checkpoints().restore(x.path("id"), x.path("name"))))),
        new Route("POST", "/v1/sandboxes/{id}/fork", x -> {
          Bodies.Fork b = x.body(Bodies.Fork.class, null);
          SandboxRoutes.requireThisNode(sandboxes, b.node());
          int count = b.count() == null ? 1 : b.count();
          var forks = sandboxes.forks().fork(x.path("id"), count, Optional.ofNullable(b.checkpoint()), x.caller().keyId());
          x.audit("forks", forks.stream().map(dev.kiln.sandbox.Sandbox::id).toList());
          x.json(201, Map.of("sandboxes", forks.stream().map(SandboxRoutes::view).toList()));
        }),
        new Route("GET", "/v1/sandboxes/{id}/events", x -> x.json(200, Map.of("events", sandboxes.events(x.path("id")).stream().map(e -> {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("at", e.at().toString());
          m.put("kind", e.kind());
          m.put("message", e.message());
          return m;
        }).toList()))));
  }

  private static Map<String, Object> view(Checkpoints.Checkpoint c) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("id", c.id());
    m.put("name", c.name());
    m.put("sandboxId", c.sandboxId());
    m.put("createdAt", c.createdAt().toString());
    m.put("stateBytes", c.stateBytes());
    return m;
  }
}
