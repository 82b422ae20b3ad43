package dev.kiln.net.proxy;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

/** The head the sandbox receives: the client's, rerouted, without the token, with X-Forwarded-*. */
final class ForwardedHead {
  // Dropped from the client's head: the token, forwarding headers a client could forge, and
  // Connection, which is set anew.
  private static final Set<String> DROPPED = Set.of(
      AccessTokens.HEADER.toLowerCase(Locale.ROOT), AccessTokens.E2B_HEADER, ProxyTarget.CREDENTIAL_HEADER.toLowerCase(Locale.ROOT), "x-forwarded-for", "x-forwarded-host",
      "x-forwarded-proto", "connection");

  private ForwardedHead() {}

  static byte[] render(RequestHead head, Route route, InetAddress client, ProxyTarget target, boolean tls) {
    Set<String> replaced = new java.util.HashSet<>();
    target.setHeaders().keySet().forEach(k -> replaced.add(k.toLowerCase(Locale.ROOT)));
    StringBuilder b = new StringBuilder(256 + head.headers().size() * 64);
    String query = AccessTokens.queryWithout(head.query()).map(q -> "?" + q).orElse("");
    b.append(head.method()).append(' ').append(route.path()).append(query).append(' ').append(head.version()).append("\r\n");
    boolean upgrade = head.isWebSocketUpgrade();
    for (RequestHead.Header h : head.headers()) {
      String name = h.name().toLowerCase(Locale.ROOT);
      if (name.equals("connection") && upgrade) line(b, h.name(), h.value());
      else if (name.equals("cookie")) AccessTokens.cookieWithout(h.value()).ifPresent(c -> line(b, h.name(), c));
      else if (!DROPPED.contains(name) && !replaced.contains(name)) line(b, h.name(), h.value());
    }
    target.setHeaders().forEach((k, v) -> line(b, k, v));
    // One request per upstream connection (see package-info): the upstream closes after answering.
    if (!upgrade) line(b, "Connection", "close");
    line(b, "X-Forwarded-For", client.getHostAddress());
    head.host().ifPresent(h -> line(b, "X-Forwarded-Host", h));
    line(b, "X-Forwarded-Proto", tls ? "https" : "http");
    b.append("\r\n");
    return b.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  /**
   * The head a control instance sends on to a node's port proxy: the client's as it came (the
   * node routes it and checks its token), with the node's credential in place of any the client sent.
   */
  static byte[] relayed(RequestHead head, String credential) {
    StringBuilder b = new StringBuilder(256 + head.headers().size() * 64);
    b.append(head.method()).append(' ').append(head.target()).append(' ').append(head.version()).append("\r\n");
    for (RequestHead.Header h : head.headers()) {
      if (!h.is(ProxyTarget.CREDENTIAL_HEADER)) line(b, h.name(), h.value());
    }
    line(b, ProxyTarget.CREDENTIAL_HEADER, credential);
    b.append("\r\n");
    return b.toString().getBytes(StandardCharsets.ISO_8859_1);
  }

  private static void line(StringBuilder b, String name, String value) {
    b.append(name).append(": ").append(value).append("\r\n");
  }
}
