package dev.kiln.api;

import dev.kiln.cluster.ClusterTtl;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.Checkpoints;
import dev.kiln.sandbox.SandboxId;
import dev.kiln.sandbox.SandboxManager;
import java.util.List;
import java.util.Map;

/**
 * What only the control plane asks of a node (docs/adr/0017), beside the public routes it also
 * serves: expire a sandbox whose TTL the leading control instance found passed, take over a
 * paused sandbox whose node is down (or draining: then the draining node asks), fork another
 * node's checkpoint here, drain this node (docs/adr/0019).
 */
final class NodeInternalRoutes {
  static final String ADOPT = "/internal/v1/sandboxes/{id}/adopt";
  static final String FORK_CHECKPOINT = "/internal/v1/sandboxes/{id}/checkpoints/{name}/fork";
  static final String DRAIN = "/internal/v1/drain";

  private NodeInternalRoutes() {}

  static List<Route> routes(SandboxManager sandboxes) {
    return List.of(
        new Route("POST", String.format(ClusterTtl.EXPIRE_PATH, "{id}"), x -> {
          sandboxes.expireIfDue(x.path("id"));
          x.noContent();
        }),
        new Route("POST", ADOPT, x -> x.json(200, SandboxRoutes.view(sandboxes.adoptPaused(x.path("id"))))),
        new Route("POST", DRAIN, x -> {
          Bodies.Drain b = x.body(Bodies.Drain.class, new Bodies.Drain(null, null, null));
          x.json(202, sandboxes.drain(b.parallelOrDefault(), Bodies.Migrate.settings(b.maxDowntimeMs(), b.maxBandwidthMiBps())));
        }),
        new Route("POST", FORK_CHECKPOINT, x -> {
          Bodies.Fork b = x.body(Bodies.Fork.class, new Bodies.Fork(null, null, null));
          var forks = sandboxes.forkCheckpointHere(x.path("id"), x.path("name"), b.count() == null ? 1 : b.count(), x.caller().keyId());
          x.json(201, Map.of("sandboxes", forks.stream().map(SandboxRoutes::view).toList()));
        }));
  }

  /**
   * A route's path with its parameters filled in. They come from users: only a valid sandbox id and
   * checkpoint name are put in a URL that carries the node's credential, so that no "..", "/" or
   * "?" in them can make it another route.
   */
  static String path(String template, String id, String name) {
    if (!SandboxId.isValid(id)) throw SandboxId.notFound(id);
    if (template.contains("{name}") && !Checkpoints.validName(name)) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "checkpoint name must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
    }
    return template.replace("{id}", id).replace("{name}", name == null ? "" : name);
  }
}
