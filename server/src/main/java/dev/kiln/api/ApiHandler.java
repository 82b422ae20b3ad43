package dev.kiln.api;

import dev.kiln.access.Caller;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.util.List;
import java.util.Map;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.websocket.server.ServerWebSocketContainer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Authenticates, routes, and turns every failure into {@code {"error":{"code","message"}}}. */
final class ApiHandler extends Handler.Abstract {
  private static final Logger log = LoggerFactory.getLogger(ApiHandler.class);
  private final List<Route> routes;
  private final Callers callers;
  private final RouteAccess access;
  private final ApiAudit audit;
  private final ServerWebSocketContainer websockets;

  ApiHandler(List<Route> routes, Callers callers, RouteAccess access, ApiAudit audit, ServerWebSocketContainer websockets) {
    this.routes = List.copyOf(routes);
    this.callers = callers;
    this.access = access;
    this.audit = audit;
    this.websockets = websockets;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    long start = System.nanoTime();
    Exchange x = null;
    Route route = null;
    try {
      Route.Match match = Route.Match.of(routes, method, path);
      route = match.route().orElse(null);
      x = new Exchange(request, response, callback, websockets, match.params());
      Exchange exchange = x;
      Route matched = route;
      // Recorded as the answer starts: whoever reads the trail after getting it finds the record there.
      if (audit != null) x.beforeAnswer(() -> audit.after(exchange, matched, response.getStatus()));
      if (route == null) throw match.unserved("API", method, path);
      CrossSiteGuard.check(request);
      if (!path.equals("/healthz")) {
        Caller caller = callers.authenticate(request).orElseThrow(() -> new KilnException(ErrorCode.UNAUTHORIZED, callers.refusal()));
        x.authenticated(caller);
        access.check(route, x, caller);
      }
      route.handler().handle(x);
      if (!x.handedOff()) {
        x.answering();
        callback.succeeded();
      }
    } catch (Exception e) {
      Exchange ex = x != null ? x : new Exchange(request, response, callback, null, Map.of());
      ex.fail(Failure.of(e, method, path), (to, status, code, message) -> to.json(status, Map.of("error", Map.of("code", code.name(), "message", message))));
    } finally {
      log.debug("http method={} path={} status={} took_ms={}", method, path, response.getStatus(), (System.nanoTime() - start) / 1_000_000);
    }
    return true;
  }
}
