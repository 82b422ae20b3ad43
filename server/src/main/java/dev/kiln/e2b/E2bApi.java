package dev.kiln.e2b;

import dev.kiln.access.Caller;
import dev.kiln.access.Role;
import dev.kiln.api.ApiAudit;
import dev.kiln.api.UserMessages;
import dev.kiln.api.Callers;
import dev.kiln.api.E2bRequests;
import dev.kiln.api.Exchange;
import dev.kiln.api.Front;
import dev.kiln.api.NodeHop;
import dev.kiln.cluster.NodeDirectory;
import dev.kiln.api.HttpStatusOf;
import dev.kiln.api.Route;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.TemplateService;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.SandboxOperations;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * E2B's two APIs on Kiln's port, beside Kiln's own (whose paths all start with /v1, /healthz or
 * /metrics): the control plane ({@code /sandboxes}, {@code /v2/sandboxes}), authenticated by
 * {@code X-API-KEY} with Kiln's keys, and envd ({@code /files}, {@code /health}, the Connect
 * services), for the sandbox its {@code E2b-Sandbox-Id} header names and authenticated by that
 * sandbox's access token. Each answers errors in the shape its SDK reads (docs/e2b.md); a request
 * for neither is left to Kiln's API (it is a {@link Front}).
 */
public final class E2bApi implements Front {
  private static final Logger log = LoggerFactory.getLogger(E2bApi.class);
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
      failed(x, e, (status, code, message) -> x.json(status, Map.of("code", status, "message", message)));
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
    failed(x, e, (status, code, message) -> {
      ConnectCode connect = e instanceof ConnectException c ? c.code : ConnectCode.of(code);
      Envd.error(x, path, connect, status, message);
    });
  }

  private interface Answer {
    void send(int status, ErrorCode code, String message) throws IOException;
  }

  /** Any failure as an error answer: the request's own, or ours with an incident id in the log; never a Java name. */
  private void failed(Exchange x, Exception e, Answer answer) {
    ErrorCode code;
    int status;
    String message;
    switch (e) {
      case ConnectException c -> {
        code = ErrorCode.INVALID_REQUEST;
        status = c.code.httpStatus;
        message = c.getMessage();
      }
      case KilnException k -> {
        code = k.code();
        status = HttpStatusOf.of(k.code());
        message = k.getMessage();
      }
      case IllegalArgumentException i -> {
        code = ErrorCode.INVALID_REQUEST;
        status = 400;
        message = i.getMessage();
      }
      case InterruptedException i -> {
        Thread.currentThread().interrupt();
        code = ErrorCode.INTERNAL;
        status = 503;
        message = "the daemon is shutting down";
      }
      default -> {
        String incident = UserMessages.incidentId();
        log.error("unhandled error incident={} on E2B {} {}", incident, x.method(), x.requestPath(), e);
        code = ErrorCode.INTERNAL;
        status = 500;
        message = "the daemon failed with an internal error (incident " + incident + " in its log); this is a bug in Kiln, not in the request";
      }
    }
    if (x.committed()) {
      log.warn("E2B API error after the answer began: {} {}", code, message);
      x.answering();
      x.failed(new IOException(message));
      return;
    }
    try {
      x.resetForError();
      x.audit("error", code.name());
      answer.send(status, code, UserMessages.of(code.name(), message));
      x.succeeded();
    } catch (IOException | RuntimeException again) {
      x.failed(again);
    }
  }
}
