package dev.kiln.net.proxy;

import static dev.kiln.net.proxy.ProxyFixture.DOMAIN;
import static dev.kiln.net.proxy.ProxyFixture.TOKEN;
import static dev.kiln.net.proxy.RawHttp.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Routing, tokens, header rewriting and the proxy's own error answers, against a real HTTP backend. */
class PortProxyTest {
  private static EchoBackend backend;
  private static PortProxy proxy;

  @BeforeAll
  static void start() throws IOException {
    backend = EchoBackend.start();
    proxy = PortProxy.start(ProxyFixture.anyLoopbackPort(), DOMAIN, ProxyFixture.targets(backend.address()));
  }

  @AfterAll
  static void stop() {
    proxy.close();
    backend.close();
  }

  private static RawHttp.Response send(String request) throws IOException {
    return RawHttp.send(proxy.address(), request);
  }

  @Test
  void hostRouteKeepsThePathAndDropsTheQueryToken() throws IOException {
    RawHttp.Response r = send(get("/a/b?x=1&kiln_token=" + TOKEN + "&y=2", "Host: 8080-SB1.Sandbox.Localhost:" + proxy.address().getPort()));
    assertEquals(200, r.status(), r.body());
    assertTrue(r.body().contains("path /a/b\n"), r.body());
    assertTrue(r.body().contains("query x=1&y=2\n"), r.body());
    assertFalse(r.body().contains(TOKEN), r.body());
  }

  @Test
  void pathRouteRewritesThePath() throws IOException {
    RawHttp.Response r = send(get("/v1/sandboxes/sb1/ports/8080/a/b?x=1", "X-Kiln-Access-Token: " + TOKEN));
    assertEquals(200, r.status(), r.body());
    assertTrue(r.body().contains("path /a/b\nquery x=1\n"), r.body());
    for (String bare : new String[] {"/v1/sandboxes/sb1/ports/8080", "/v1/sandboxes/sb1/ports/8080/"}) {
      r = send(get(bare, "X-Kiln-Access-Token: " + TOKEN));
      assertTrue(r.body().contains("path /\nquery null\n"), bare + " -> " + r.body());
    }
  }

  @Test
  void theSandboxSeesForwardingHeadersButNoToken() throws IOException {
    RawHttp.Response r = send(get("/v1/sandboxes/sb1/ports/8080/h", "Host: example.test:81", "X-Kiln-Access-Token: " + TOKEN,
        "X-Forwarded-For: 6.6.6.6", "Cookie: a=1; kiln_token=" + TOKEN + "; b=2", "Connection: keep-alive"));
    assertEquals(200, r.status(), r.body());
    String seen = r.body();
    assertFalse(seen.contains(TOKEN), seen);
    assertFalse(seen.contains("x-kiln-access-token"), seen);
    assertTrue(seen.contains("header x-forwarded-for: 127.0.0.1\n"), seen);
    assertFalse(seen.contains("6.6.6.6"), seen);
    assertTrue(seen.contains("header x-forwarded-host: example.test:81\n"), seen);
    assertTrue(seen.contains("header x-forwarded-proto: http\n"), seen);
    assertTrue(seen.contains("header cookie: a=1; b=2\n"), seen);
    assertTrue(seen.contains("header connection: close\n"), seen);
  }

  @Test
  void tokenIsRequiredAndChecked() throws IOException {
    RawHttp.Response missing = send(get("/v1/sandboxes/sb1/ports/8080/"));
    assertEquals(401, missing.status());
    assertEquals("UNAUTHORIZED", missing.errorCode());
    for (String wrong : new String[] {"X-Kiln-Access-Token: nope", "Cookie: kiln_token=nope"}) {
      RawHttp.Response r = send(get("/v1/sandboxes/sb1/ports/8080/", wrong));
      assertEquals(403, r.status(), wrong);
      assertEquals("FORBIDDEN", r.errorCode());
    }
    RawHttp.Response query = send(get("/v1/sandboxes/sb1/ports/8080/?kiln_token=" + TOKEN + "x"));
    assertEquals(403, query.status());
    assertFalse(query.body().contains(TOKEN), query.body());
    assertEquals(200, send(get("/v1/sandboxes/sb1/ports/8080/", "Cookie: kiln_token=" + TOKEN)).status());
  }

  @Test
  void aPublicSandboxNeedsNoToken() throws IOException {
    assertEquals(200, send(get("/", "Host: 8080-pub." + DOMAIN)).status());
  }

  @Test
  void unknownSandboxesPortsAndPathsAre404() throws IOException {
    for (String req : new String[] {
        get("/v1/sandboxes/nope/ports/8080/"), get("/v1/sandboxes/sb1/ports/9090/"), get("/elsewhere"),
        get("/", "Host: 8080-nope." + DOMAIN), get("/", "Host: other.example")}) {
      RawHttp.Response r = send(req);
      assertEquals(404, r.status(), req);
      assertEquals("NOT_FOUND", r.errorCode());
    }
  }

  @Test
  void aMalformedRequestLineIs400() throws IOException {
    RawHttp.Response r = send("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n");
    assertEquals(400, r.status());
    assertEquals("INVALID_REQUEST", r.errorCode());
  }

  @Test
  void aHugeHeadIs431() throws IOException {
    String huge = get("/v1/sandboxes/pub/ports/8080/", "X-Big: " + "a".repeat(40_000));
    RawHttp.Response r = send(huge);
    assertEquals(431, r.status());
    assertEquals("HEADERS_TOO_LARGE", r.errorCode());
  }

  @Test
  void aPortWithNothingListeningIs502() throws IOException {
    RawHttp.Response r = send(get("/v1/sandboxes/down/ports/80/"));
    assertEquals(502, r.status());
    assertEquals("UPSTREAM_UNREACHABLE", r.errorCode());
  }

  @Test
  void connectionsBeyondTheBoundGet503() throws IOException {
    ProxyLimits one = new ProxyLimits(1, Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMinutes(1));
    try (PortProxy small = PortProxy.start(ProxyFixture.anyLoopbackPort(), DOMAIN, ProxyFixture.targets(backend.address()), one);
        Socket holder = new Socket(small.address().getAddress(), small.address().getPort())) {
      holder.getOutputStream().write("GET / HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII));
      RawHttp.Response r = RawHttp.send(small.address(), get("/v1/sandboxes/pub/ports/8080/"));
      assertEquals(503, r.status());
      assertEquals("TOO_MANY_CONNECTIONS", r.errorCode());
    }
  }

  @Test
  void aStalledHeadAndAnIdleSpliceAreClosed() throws IOException {
    ProxyLimits quick = new ProxyLimits(8, Duration.ofMillis(300), Duration.ofSeconds(5), Duration.ofMillis(300));
    try (PortProxy p = PortProxy.start(ProxyFixture.anyLoopbackPort(), DOMAIN, ProxyFixture.targets(backend.address()), quick)) {
      long start = System.nanoTime();
      RawHttp.Response stalled = RawHttp.send(p.address(), "GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII), false);
      assertEquals(-1, stalled.status(), "a stalled head gets no answer, only a close");
      // the backend waits for a body that never comes, so nothing moves until the idle limit
      String post = "POST /v1/sandboxes/pub/ports/8080/ HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n";
      RawHttp.Response idle = RawHttp.send(p.address(), post.getBytes(StandardCharsets.US_ASCII), false);
      assertEquals(-1, idle.status());
      assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
    }
  }
}
