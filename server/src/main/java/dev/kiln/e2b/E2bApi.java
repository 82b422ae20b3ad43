package dev.kiln.e2b;

import dev.kiln.access.ApiKeys;
import dev.kiln.access.Caller;
import dev.kiln.access.Role;
import dev.kiln.api.ApiAudit;
import dev.kiln.api.UserMessages;
import dev.kiln.api.Callers;
import dev.kiln.api.Exchange;
import dev.kiln.api.Front;
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
  static final String SANDBOX_HEADER = "E2b-Sandbox-Id";
  private final List<Route> control;
  private final Envd envd;
  private final ApiKeys keys;
  private final ApiAudit audit;
  private final SandboxManager sandboxes;

  public E2bApi(SandboxManager sandboxes, SandboxOperations ops, ProcessService processes, TemplateService templates, ApiKeys keys, EnvdTokens tokens,
      Optional<String> domain, ApiAudit audit) {
    this.sandboxes = sandboxes;
    this.control = new E2bSandboxes(sandboxes, templates, new E2bViews(tokens, domain)).routes();
    this.envd = new Envd(sandboxes, ops, processes, tokens);
    this.keys = keys;
    this.audit = audit;
  }

  @Override
  public boolean takes(Exchange x) {
    return x.header(SANDBOX_HEADER) != null || Envd.servesPath(x.requestPath()) || isControl(x.requestPath());
  }

  @Override
  public void serve(Exchange x) {
    String path = x.requestPath();
    String sandboxId = x.header(SANDBOX_HEADER);
    if (sandboxId == null && !Envd.servesPath(path)) {
      control(x, path);
      return;
    }
    try {
      envd(x, path, sandboxId);
    } catch (Exception e) {
      envdError(x, path, e);
      return;
    }
    if (!x.handedOff()) {
      x.answering();
      x.succeeded();
    }
  }

  private static boolean isControl(String path) {
    return path.equals("/sandboxes") || path.startsWith("/sandboxes/") || path.equals("/v2/sandboxes") || path.startsWith("/v2/sandboxes/")
        || path.equals("/snapshots");
  }

  private void control(Exchange request, String path) {
    Route.Match match = Route.Match.of(control, request.method(), path);
    Route route = match.route().orElse(null);
    Exchange x = request.withPathParams(match.params());
    Route matched = route;
    if (audit != null) x.beforeAnswer(() -> audit.after(x, matched, x.status()));
    try {
      if (route == null) throw match.unserved("E2B API", x.method(), path);
      Caller caller = keys.authenticate(Callers.presentedKey(x))
          .orElseThrow(() -> new KilnException(ErrorCode.UNAUTHORIZED, "a valid Kiln API key is required in X-API-KEY (E2B_API_KEY)"));
      x.authenticated(caller);
      route.handler().handle(x);
      x.answering();
      x.succeeded();
    } catch (Exception e) {
      failed(x, e, (status, code, message) -> x.json(status, Map.of("code", status, "message", message)));
    }
  }

  private void envd(Exchange x, String path, String sandboxId) throws Exception {
    Route route = new Route(x.method(), path, null);
    if (audit != null) x.beforeAnswer(() -> audit.after(x, route, x.status()));
    if (sandboxId == null || sandboxId.isEmpty()) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "the " + SANDBOX_HEADER + " header is required: it names the sandbox this envd request is for");
    }
    if (!path.equals("/health")) x.authenticated(tokenHolder(sandboxId));
    envd.handle(x, sandboxId);
  }

  /** Whom an envd request is recorded for: the key its sandbox was made with (its token was given to that key). */
  private Caller tokenHolder(String sandboxId) {
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
