package dev.kiln.e2b;

import dev.kiln.access.Caller;
import dev.kiln.access.Role;
import dev.kiln.api.ApiAudit;
import dev.kiln.api.Callers;
import dev.kiln.api.E2bRequests;
import dev.kiln.api.Exchange;
import dev.kiln.api.Failure;
import dev.kiln.api.Front;
import dev.kiln.api.NodeHop;
import dev.kiln.cluster.NodeDirectory;
import dev.kiln.api.Route;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.TemplateService;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxOperations;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * E2B's two APIs on Kiln's port, beside Kiln's own (whose paths all start with /v1, /healthz or
 * /metrics): the control plane ({@code /sandboxes}, {@code /v2/sandboxes}), authenticated by
 * {@code X-API-KEY} with Kiln's keys, and envd ({@code /files}, {@code /health}, the Connect
 * services), for the sandbox its {@code E2b-Sandbox-Id} header names and authenticated by that
 * sandbox's access token. Each answers errors in the shape its SDK reads (docs/e2b.md); a request
 * for neither is left to Kiln's API (it is a {@link Front}).
 */
public final class E2bApi implements Front {
  static final String SANDBOX_HEADER = E2bRequests.SANDBOX_HEADER;

  /** How envd requests are served: here, or on the node that runs the sandbox. */
  interface EnvdService {
    void handle(Exchange x, String sandboxId) throws Exception;
  }

  private final List<Route> control;
  private final EnvdService envd;
  private final Callers callers;
  /** A node's: only the control plane reaches it, envd included. */
  private final boolean controlPlaneOnly;
  private final ApiAudit audit;
  /** Whom an envd request is recorded for, by its sandbox; empty where the node records it. */
  private final Optional<SandboxManager> recordsEnvd;

  private E2bApi(List<Route> control, EnvdService envd, Callers callers, ApiAudit audit, Optional<SandboxManager> recordsEnvd) {
    this.control = List.copyOf(control);
    this.envd = envd;
    this.callers = callers;
    this.controlPlaneOnly = callers instanceof Callers.ControlPlane;
    this.audit = audit;
    this.recordsEnvd = recordsEnvd;
  }

  /** A daemon that runs sandboxes: combined (its callers present users' keys) or a node (its caller is the control plane). */
  public static E2bApi local(SandboxManager sandboxes, SandboxOperations ops, ProcessService processes, TemplateService templates, Callers callers,
      EnvdTokens tokens, Optional<String> domain, ApiAudit audit) {
    return new E2bApi(new E2bSandboxes(sandboxes, templates, new E2bViews(tokens, domain)).routes(), new Envd(sandboxes, ops, processes, tokens), callers,
        audit, Optional.of(sandboxes));
  }

  /** A control instance: each request carried to the node that runs its sandbox, which does and records it. */
  public static E2bApi relay(NodeDirectory directory, NodeHop hop, Callers callers, ApiAudit audit) {
    E2bRelay relay = new E2bRelay(directory, hop);
    return new E2bApi(relay.routes(new E2bSandboxes(null, null, null).routes()), relay::envd, callers, audit, Optional.empty());
  }

  @Override
  public boolean takes(Exchange x) {
    return E2bRequests.isE2b(x);
  }

  @Override
  public void serve(Exchange x) {
    String path = x.requestPath();
    if (!E2bRequests.isEnvd(x)) {
      control(x, path);
      return;
    }
    try {
      envd(x, path, x.header(SANDBOX_HEADER));
    } catch (Exception e) {
      envdError(x, path, e);
      return;
    }
    if (!x.handedOff()) {
      x.answering();
      x.succeeded();
    }
  }

  private void control(Exchange request, String path) {
    Route.Match match = Route.Match.of(control, request.method(), path);
    Route route = match.route().orElse(null);
    Exchange x = request.withPathParams(match.params());
    Route matched = route;
    if (audit != null) x.beforeAnswer(() -> audit.after(x, matched, x.status()));
    try {
      if (route == null) throw match.unserved("E2B API", x.method(), path);
      Caller caller = callers.authenticate(x).orElseThrow(() -> new KilnException(ErrorCode.UNAUTHORIZED, refusal()));
      x.authenticated(caller);
      route.handler().handle(x);
      x.answering();
      x.succeeded();
    } catch (Exception e) {
      x.fail(failure(x, e), (to, status, code, message) -> to.json(status, Map.of("code", status, "message", message)));
    }
  }

  private String refusal() {
    return controlPlaneOnly ? callers.refusal() : "a valid Kiln API key is required in X-API-KEY (E2B_API_KEY)";
  }

  private void envd(Exchange x, String path, String sandboxId) throws Exception {
    Route route = new Route(x.method(), path, null);
    if (audit != null) x.beforeAnswer(() -> audit.after(x, route, x.status()));
    if (sandboxId == null || sandboxId.isEmpty()) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "the " + SANDBOX_HEADER + " header is required: it names the sandbox this envd request is for");
    }
    if (controlPlaneOnly && callers.authenticate(x).isEmpty()) throw new KilnException(ErrorCode.UNAUTHORIZED, refusal());
    if (recordsEnvd.isEmpty()) {
      // Carried to the node, which checks the sandbox's token and records what was done.
      x.authenticated(Callers.ControlPlane.ITSELF);
      x.auditedElsewhere();
    } else if (!path.equals("/health")) {
      x.authenticated(tokenHolder(recordsEnvd.get(), sandboxId));
    }
    envd.handle(x, sandboxId);
  }

  /** Whom an envd request is recorded for: the key its sandbox was made with (its token was given to that key). */
  private static Caller tokenHolder(SandboxManager sandboxes, String sandboxId) {
    try {
      String owner = sandboxes.get(sandboxId).owner();
      return new Caller(owner.isEmpty() ? Caller.ENVIRONMENT_ADMIN.keyId() : owner, Role.USER);
    } catch (KilnException e) {
      return new Caller("unknown", Role.USER);
    }
  }

  private void envdError(Exchange x, String path, Exception e) {
    ConnectCode connect = e instanceof ConnectException c ? c.code : null;
    x.fail(failure(x, e), (to, status, code, message) -> Envd.error(to, path, connect != null ? connect : ConnectCode.of(code), status, message));
  }

  /** A failure as the SDK should see it: Kiln's, or a Connect code this layer refused with. */
  private static Failure failure(Exchange x, Exception e) {
    return e instanceof ConnectException c ? new Failure(c.code.httpStatus, ErrorCode.INVALID_REQUEST, c.getMessage()) : Failure.of(e, x.method(), x.requestPath());
  }
}
