package dev.kiln.api;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.net.URI;
import java.util.Locale;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

/**
 * Refuses a state-changing request or a WebSocket upgrade that a browser made on another site's
 * behalf: its {@code Origin} is not this daemon's, or its {@code Sec-Fetch-Site} says cross-site.
 * Kiln's keys travel in headers that another site cannot make a browser send, so this is a second
 * wall behind them (the web console, docs/adr/0027), and one against a page that reaches a
 * daemon on localhost. Clients that are not browsers send neither header and pass.
 */
final class CrossSiteGuard {
  private CrossSiteGuard() {}

  static void check(Request request) {
    String method = request.getMethod();
    boolean safe = method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS");
    if (safe && !isUpgrade(request)) return;
    String site = request.getHeaders().get("Sec-Fetch-Site");
    if (site != null && site.toLowerCase(Locale.ROOT).equals("cross-site")) throw refused("another site");
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (origin == null) return;
    if (!sameOrigin(origin, request)) throw refused(origin.length() > 100 ? origin.substring(0, 100) + "…" : origin);
  }

  private static boolean isUpgrade(Request request) {
    String upgrade = request.getHeaders().get(HttpHeader.UPGRADE);
    return upgrade != null && upgrade.equalsIgnoreCase("websocket");
  }

  /** The Origin names the host and port the request was sent to (its Host header). */
  private static boolean sameOrigin(String origin, Request request) {
    String host = request.getHeaders().get(HttpHeader.HOST);
    if (host == null || origin.equals("null")) return false;
    try {
      URI o = URI.create(origin);
      if (o.getScheme() == null || o.getHost() == null) return false;
      int port = o.getPort() != -1 ? o.getPort() : o.getScheme().equalsIgnoreCase("https") ? 443 : 80;
      String authority = o.getHost().contains(":") && !o.getHost().startsWith("[") ? "[" + o.getHost() + "]" : o.getHost();
      String expected = (authority + ":" + port).toLowerCase(Locale.ROOT);
      String given = host.toLowerCase(Locale.ROOT);
      int defaultPort = o.getScheme().equalsIgnoreCase("https") ? 443 : 80;
      return given.equals(expected) || (port == defaultPort && given.equals(authority.toLowerCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static KilnException refused(String from) {
    return new KilnException(ErrorCode.FORBIDDEN, "a browser sent this request from " + from + ", not from this daemon's own pages: "
        + "the API refuses changes made on another site's behalf");
  }
}
