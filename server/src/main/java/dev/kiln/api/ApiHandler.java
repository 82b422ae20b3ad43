package dev.kiln.api;

import dev.kiln.access.Caller;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
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
    } catch (KilnException e) {
      respondError(x, request, response, callback, HttpStatusOf.of(e.code()), e.code(), e.getMessage());
    } catch (IllegalArgumentException e) {
      respondError(x, request, response, callback, 400, ErrorCode.INVALID_REQUEST, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      respondError(x, request, response, callback, 503, ErrorCode.INTERNAL, "the daemon is shutting down");
    } catch (Exception e) {
      // The cause is ours, not the client's: it goes to the log with its stack, the client gets an id to quote.
      String incident = UserMessages.incidentId();
      log.error("unhandled error incident={} on {} {}", incident, method, path, e);
      respondError(x, request, response, callback, 500, ErrorCode.INTERNAL,
          "the daemon failed with an internal error (incident " + incident + " in its log); this is a bug in Kiln, not in the request");
    } finally {
      log.debug("http method={} path={} status={} took_ms={}", method, path, response.getStatus(), (System.nanoTime() - start) / 1_000_000);
    }
    return true;
  }

  private static void respondError(Exchange x, Request request, Response response, Callback callback, int status, ErrorCode code, String message) {
    if (response.isCommitted()) {
      // Headers are gone (a file download failed midway): all we can do is cut the connection,
      // which the client sees as a truncated body rather than a silently short file.
      log.warn("error after response committed: {} {}", code, message);
      if (x != null) {
        x.audit("error", code.name());
        x.answering();
      }
      callback.failed(new IOException(message));
      return;
    }
    try {
      response.reset();
      // An error can come before the body was read (401, 404, a body too large). Jetty would then
      // drop the connection after the answer; saying so keeps the client from reusing it.
      if (!request.consumeAvailable()) response.getHeaders().put(HttpHeader.CONNECTION, "close");
      Exchange ex = x != null ? x : new Exchange(request, response, callback, null, Map.of());
      ex.audit("error", code.name());
      ex.json(status, Map.of("error", Map.of("code", code.name(), "message", UserMessages.of(code.name(), message))));
      callback.succeeded();
    } catch (IOException | RuntimeException e) {
      callback.failed(e);
    }
  }
}
