package dev.kiln.api;

import dev.kiln.console.ConsoleAssets;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Serves the console under {@code /console/} ({@code /} and {@code /console} lead there); every
 * other request goes on to the API. The pages are code without data, so they need no key; the
 * key is asked for by the sign-in page and sent by the page's own API calls.
 *
 * <p>The Content-Security-Policy allows scripts and styles from the daemon only. The terminal
 * library writes its styles into {@code <style>} elements as it runs; those carry a nonce made for
 * each page load (index.html hands it to the page's script, which sets it on them), never
 * 'unsafe-inline'.
 */
final class ConsoleHandler extends Handler.Abstract {
  static final String PREFIX = "/console/";
  private static final SecureRandom RANDOM = new SecureRandom();
  private final ConsoleAssets assets;

  ConsoleHandler(ConsoleAssets assets) {
    this.assets = assets;
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    if (!method.equals("GET") && !method.equals("HEAD")) return false;
    if (path.equals("/") || path.equals("/console")) {
      response.setStatus(302);
      response.getHeaders().put(HttpHeader.LOCATION, PREFIX);
      response.getHeaders().put(HttpHeader.CONTENT_LENGTH, 0);
      callback.succeeded();
      return true;
    }
    if (!path.startsWith(PREFIX)) return false;
    String name = path.equals(PREFIX) ? "index.html" : path.substring(PREFIX.length());
    Optional<ConsoleAssets.Asset> asset = assets.get(name);
    securityHeaders(response);
    if (asset.isEmpty()) {
      send(response, callback, 404, "text/plain; charset=utf-8", ("no such page in the console: " + name + "\n").getBytes(StandardCharsets.UTF_8), method);
      return true;
    }
    ConsoleAssets.Asset a = asset.get();
    if (name.equals("index.html")) {
      String nonce = Base64.getEncoder().encodeToString(randomBytes());
      response.getHeaders().put("Content-Security-Policy", policy(nonce));
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      byte[] page = new String(a.bytes(), StandardCharsets.UTF_8).replace("__STYLE_NONCE__", nonce).getBytes(StandardCharsets.UTF_8);
      send(response, callback, 200, a.type(), page, method);
      return true;
    }
    response.getHeaders().put("Content-Security-Policy", policy(null));
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    response.getHeaders().put(HttpHeader.ETAG, a.etag());
    if (a.etag().equals(request.getHeaders().get(HttpHeader.IF_NONE_MATCH))) {
      response.setStatus(304);
      callback.succeeded();
      return true;
    }
    send(response, callback, 200, a.type(), a.bytes(), method);
    return true;
  }

  private static byte[] randomBytes() {
    byte[] b = new byte[18];
    RANDOM.nextBytes(b);
    return b;
  }

  /** Scripts, styles, images and connections from this daemon only; no plugins, frames, forms elsewhere or base rewrites. */
  static String policy(String styleNonce) {
    return "default-src 'none'; script-src 'self'; style-src 'self'" + (styleNonce == null ? "" : " 'nonce-" + styleNonce + "'")
        + "; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
  }

  private static void securityHeaders(Response response) {
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    response.getHeaders().put("Referrer-Policy", "no-referrer");
    response.getHeaders().put("X-Frame-Options", "DENY");
    response.getHeaders().put("Cross-Origin-Opener-Policy", "same-origin");
  }

  private static void send(Response response, Callback callback, int status, String type, byte[] body, String method) {
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, method.equals("HEAD") ? ByteBuffer.allocate(0) : ByteBuffer.wrap(body), callback);
  }
}
