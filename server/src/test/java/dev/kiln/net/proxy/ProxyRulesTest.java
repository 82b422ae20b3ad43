package dev.kiln.net.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The parsing, routing and token rules on their own, without sockets. */
class ProxyRulesTest {
  private static final ProxyDomain DOMAIN = new ProxyDomain("sandbox.localhost");

  private static RequestHead head(String text) throws ProxyException {
    return RequestHead.parse(text.getBytes(StandardCharsets.ISO_8859_1));
  }

  @Test
  void lenientWhereTheRfcAllowsStrictElsewhere() throws ProxyException {
    RequestHead h = head("GET /x?a=1 HTTP/1.0\r\nX-Tab:\tv\u00e9 \r\n\r\n");
    assertEquals("/x", h.path());
    assertEquals(Optional.of("a=1"), h.query());
    assertEquals("v\u00e9", h.values("x-tab").getFirst());
    assertEquals(ProxyError.INVALID_REQUEST, assertThrows(ProxyException.class, () -> head("GET /x HTTP/1.1\r\n\r\n")).error());
    assertThrows(ProxyException.class, () -> head("GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"));
    assertThrows(ProxyException.class, () -> head("GET /x HTTP/1.1\r\nHost: a\rb\r\n\r\n"));
  }

  @Test
  void theHostRouteWinsAndKeepsThePath() throws ProxyException {
    Route r = Route.of(head("GET /v1/sandboxes/b/ports/2/z HTTP/1.1\r\nHost: 1-a.sandbox.localhost.:9\r\n\r\n"), DOMAIN, java.util.Set.of());
    assertEquals(new Route("a", 1, "/v1/sandboxes/b/ports/2/z"), r);
    assertEquals(new Route("b", 2, "/z"), Route.of(head("GET /v1/sandboxes/b/ports/2/z HTTP/1.1\r\nHost: x.a.sandbox.localhost\r\n\r\n"), DOMAIN, java.util.Set.of()));
    assertEquals(new Route("b", 65535, "/"), Route.of(head("GET /v1/sandboxes/b/ports/65535?q HTTP/1.1\r\nHost: h\r\n\r\n"), DOMAIN, java.util.Set.of()));
  }

  @Test
  void aNamedHostIsItsOwnRouteAndOnlyWhenNamed() throws ProxyException {
    Route api = Route.of(head("POST /v2/sandboxes HTTP/1.1\r\nHost: api.sandbox.localhost\r\n\r\n"), DOMAIN, java.util.Set.of("api"));
    assertEquals(new Route("", 0, "/v2/sandboxes", Optional.of("api")), api);
    assertThrows(ProxyException.class, () -> Route.of(head("POST /v2/sandboxes HTTP/1.1\r\nHost: api.sandbox.localhost\r\n\r\n"), DOMAIN, java.util.Set.of()));
  }

  @Test
  void domainsAreLowercaseDnsNames() {
    for (String bad : new String[] {"", ".x", "x.", "Sandbox.localhost", "a..b", "-a.b", "a_b"})
      assertThrows(IllegalArgumentException.class, () -> new ProxyDomain(bad), bad);
  }

  @Test
  void theTokenIsFoundInOrderAndStrippedEverywhere() throws ProxyException {
    RequestHead h = head("GET /?kiln_token=q%2Bq HTTP/1.1\r\nHost: h\r\nCookie: kiln_token=c\r\n\r\n");
    assertEquals(Optional.of("q+q"), AccessTokens.presented(h));
    assertEquals(Optional.of("c"), AccessTokens.presented(head("GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1;kiln_token=c\r\n\r\n")));
    assertThrows(ProxyException.class, () -> AccessTokens.presented(head("GET /?kiln_token=a&kiln_token=b HTTP/1.1\r\nHost: h\r\n\r\n")));
    assertEquals(Optional.empty(), AccessTokens.queryWithout(Optional.of("kiln_token=x")));
    assertEquals(Optional.of("a=1&&b"), AccessTokens.queryWithout(Optional.of("a=1&&b")));
    assertEquals(Optional.of("a=1&b"), AccessTokens.queryWithout(Optional.of("kiln_token=x&a=1&b")));
    assertEquals(Optional.empty(), AccessTokens.cookieWithout(" kiln_token=x "));
    assertEquals(Optional.of("my_kiln_token=1"), AccessTokens.cookieWithout("my_kiln_token=1; kiln_token=x"));
  }

  @Test
  void e2bsHeaderForTheTokenIsTakenAndNeverReachesTheSandbox() throws ProxyException {
    RequestHead h = head("GET /x HTTP/1.1\r\nHost: 8080-sb.sandbox.localhost\r\ne2b-traffic-access-token: t0k\r\n\r\n");
    assertEquals(Optional.of("t0k"), AccessTokens.presented(h));
    assertThrows(ProxyException.class, () -> AccessTokens.presented(head("GET / HTTP/1.1\r\nHost: h\r\nX-Kiln-Access-Token: a\r\ne2b-traffic-access-token: b\r\n\r\n")));
    ProxyTarget target = new ProxyTarget(new InetSocketAddress("127.0.0.1", 1), Optional.of("t0k"));
    String forwarded = new String(ForwardedHead.render(h, Route.of(h, DOMAIN, java.util.Set.of()), java.net.InetAddress.getLoopbackAddress(), target, false),
        java.nio.charset.StandardCharsets.ISO_8859_1);
    assertFalse(forwarded.toLowerCase(java.util.Locale.ROOT).contains("t0k"), forwarded);
  }

  @Test
  void tokensCompareExactly() throws ProxyException {
    ProxyTarget target = new ProxyTarget(new InetSocketAddress("127.0.0.1", 1), Optional.of("abc"));
    AccessTokens.check(target, Optional.of("abc"));
    assertEquals(ProxyError.FORBIDDEN, assertThrows(ProxyException.class, () -> AccessTokens.check(target, Optional.of("abcd"))).error());
    assertEquals(ProxyError.UNAUTHORIZED, assertThrows(ProxyException.class, () -> AccessTokens.check(target, Optional.empty())).error());
    assertFalse(target.toString().contains("abc"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new ProxyTarget(InetSocketAddress.createUnresolved("x", 1), Optional.empty()))
        .getMessage().contains("resolved"));
  }
}
