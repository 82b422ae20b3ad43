package dev.kiln.e2b;

import dev.kiln.api.Exchange;
import dev.kiln.api.Route;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.TemplateService;
import dev.kiln.net.EgressPolicy;
import dev.kiln.net.NetworkMode;
import dev.kiln.net.NetworkSpec;
import dev.kiln.sandbox.CreateSandbox;
import dev.kiln.sandbox.Sandbox;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxState;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * E2B's control-plane API for sandboxes, as its SDK calls it, on Kiln's sandbox service: E2B
 * template ids name Kiln templates, {@code timeout} is the TTL, {@code autoPause} is
 * {@code onTimeout: pause}; connect resumes. Answers have E2B's shapes ({@link E2bViews}).
 */
final class E2bSandboxes {
  /** E2B's API default when a create names no timeout. */
  static final long DEFAULT_TIMEOUT_SECONDS = 300;
  private final SandboxManager sandboxes;
  private final TemplateService templates;
  private final E2bViews views;

  E2bSandboxes(SandboxManager sandboxes, TemplateService templates, E2bViews views) {
    this.sandboxes = sandboxes;
    this.templates = templates;
    this.views = views;
  }

  List<Route> routes() {
    String one = "/sandboxes/{id}";
    return List.of(
        new Route("POST", "/sandboxes", this::create),
        new Route("POST", "/v2/sandboxes", this::create),
        new Route("GET", "/sandboxes", x -> E2bList.answer(x, visible(x), true, views)),
        new Route("GET", "/v2/sandboxes", x -> E2bList.answer(x, visible(x), false, views)),
        new Route("GET", one, x -> x.json(200, views.detail(owned(x)))),
        new Route("DELETE", one, x -> {
          sandboxes.delete(owned(x).id());
          x.noContent();
        }),
        new Route("POST", "/v2/sandboxes/{id}/connect", x -> connect(x, false)),
        new Route("POST", one + "/resume", x -> connect(x, true)),
        new Route("POST", one + "/pause", this::pause),
        new Route("POST", one + "/timeout", x -> {
          Sandbox s = owned(x);
          Optional<Long> timeout = E2bBodies.read(x).timeout();
          if (timeout.isEmpty()) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'timeout' (seconds) is required");
          sandboxes.setTimeout(s.id(), timeout.get());
          x.noContent();
        }),
        new Route("POST", one + "/refreshes", x -> {
          Sandbox s = owned(x);
          sandboxes.setTimeout(s.id(), E2bBodies.read(x).duration().orElse(DEFAULT_TIMEOUT_SECONDS));
          x.noContent();
        }),
        new Route("GET", one + "/metrics", x -> x.json(200, List.of(views.metric(owned(x), sandboxes.usage(x.path("id")))))),
        unsupported("POST", one + "/snapshots", "snapshots (use Kiln's checkpoints: POST /v1/sandboxes/{id}/checkpoints)"),
        unsupported("GET", "/snapshots", "snapshots (use Kiln's checkpoints: GET /v1/sandboxes/{id}/checkpoints)"),
        unsupported("POST", one + "/fork", "fork (use Kiln's: POST /v1/sandboxes/{id}/checkpoints, then .../fork)"),
        unsupported("PUT", one + "/network", "network updates (use Kiln's: PUT /v1/sandboxes/{id}/network)"));
  }

  private static Route unsupported(String method, String template, String what) {
    return new Route(method, template, x -> {
      throw new KilnException(ErrorCode.ROUTE_NOT_FOUND, "E2B " + what + " is not supported by Kiln's E2B API");
    });
  }

  private void create(Exchange x) throws Exception {
    E2bBodies.Create b = E2bBodies.create(x);
    String template = b.templateId();
    // Another key's template is, to this key, one that does not exist.
    if (templates.find(template).filter(t -> t.visibleTo(x.caller().keyId(), x.caller().admin())).isEmpty()) {
      throw new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template '" + template + "' (E2B template ids name Kiln templates: kiln template list)");
    }
    CreateSandbox req = new CreateSandbox(template, OptionalLong.of(b.timeout().orElse(DEFAULT_TIMEOUT_SECONDS)), OptionalInt.empty(), OptionalInt.empty(),
        b.envVars(), b.metadata(), Optional.empty(), b.autoPause() ? CreateSandbox.OnTimeout.PAUSE : CreateSandbox.OnTimeout.DELETE, network(b),
        OptionalLong.empty(), Optional.empty(), x.caller().keyId());
    x.audit("template", template);
    Sandbox made = sandboxes.create(req);
    x.auditSandbox(made.id());
    x.json(201, views.created(made));
  }

  /** E2B's network options as a Kiln network: no internet is egress denied everywhere (the sandbox keeps its address for the port proxy); public traffic is a public proxy. */
  private static Optional<NetworkSpec> network(E2bBodies.Create b) {
    if (b.allowInternetAccess().isEmpty() && b.allowOut().isEmpty() && b.denyOut().isEmpty() && !b.publicTraffic()) return Optional.empty();
    List<String> deny = b.allowInternetAccess().orElse(true) ? b.denyOut().orElse(null) : List.of("0.0.0.0/0");
    try {
      return Optional.of(new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.parse(b.allowOut().orElse(null), deny), Optional.empty(), b.publicTraffic(), 0, 0));
    } catch (IllegalArgumentException e) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "network: " + e.getMessage(), e);
    }
  }

  /** Connect (and v1 resume): a running sandbox as it is (200), a paused or stopped one brought back (201). */
  private void connect(Exchange x, boolean resumeOnly) throws Exception {
    Sandbox s = owned(x);
    Optional<Long> timeout = E2bBodies.read(x).timeout();
    int status;
    if (s.state() == SandboxState.RUNNING) {
      if (resumeOnly) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + s.id() + " is already running");
      status = 200;
    } else if (s.state() == SandboxState.PAUSED) {
      sandboxes.resume(s.id());
      status = 201;
    } else if (s.state() == SandboxState.STOPPED) {
      sandboxes.start(s.id());
      status = 201;
    } else {
      throw new KilnException(ErrorCode.SANDBOX_NOT_RUNNING, "sandbox " + s.id() + " is " + s.state().wire() + " and cannot be connected to");
    }
    if (timeout.isPresent()) sandboxes.setTimeout(s.id(), timeout.get());
    x.json(status, views.created(sandboxes.get(s.id())));
  }

  private void pause(Exchange x) throws Exception {
    Sandbox s = owned(x);
    // The SDK reads 409 as "already paused" and answers false.
    if (s.state() == SandboxState.PAUSED) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + s.id() + " is already paused");
    sandboxes.pause(s.id());
    x.noContent();
  }

  /** The sandbox in the path if the caller may use it; another key's is, word for word, one that does not exist. */
  private Sandbox owned(Exchange x) {
    String id = x.path("id");
    Sandbox s = sandboxes.get(id);
    if (!x.caller().mayUse(s.owner())) throw dev.kiln.sandbox.SandboxId.notFound(id);
    return s;
  }

  private List<Sandbox> visible(Exchange x) {
    return sandboxes.list().stream().filter(s -> x.caller().mayUse(s.owner())).toList();
  }
}
