package dev.kiln.net.proxy;

import static dev.kiln.net.proxy.ProxyFixture.DOMAIN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Hundreds of hostile request heads, each on its own connection and then half-closed: every one
 * that sent at least one byte gets a well-formed 4xx (a client that sends nothing gets only a
 * close), and the proxy still serves a valid request afterwards with none of its few connection
 * slots leaked.
 */
class PortProxyHostileInputTest {
  private static final List<Function<Random, byte[]>> KINDS = List.of(
      PortProxyHostileInputTest::randomBytes,
      r -> ascii("GET /v1/sandboxes/pub/ports/8080/ HTTP/1.1" + "x".repeat(r.nextInt(3000))),
      r -> ascii("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
      r -> ascii("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"),
      r -> ascii("GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"),
      r -> ascii("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"),
      r -> ascii("GET / HTTP/1.1\nHost: x\n\n"),
      r -> ascii("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
      r -> ascii("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"),
      r -> ascii("GET / HTTP/1.1\r\n\r\n"),
      r -> ascii("GET http://8080-pub." + DOMAIN + "/ HTTP/1.1\r\nHost: x\r\n\r\n"),
      r -> ascii("GET / HTTP/2.0\r\nHost: x\r\n\r\n"),
      r -> ascii(RawHttp.get("/v1/sandboxes/pub/ports/" + absurdPort(r) + "/")),
      r -> ascii(RawHttp.get("/", "Host: " + absurdPort(r) + "-pub." + DOMAIN)),
      r -> ascii(RawHttp.get("/v1/sandboxes/../ports/8080/")),
      r -> ascii(RawHttp.get("/v1/sandboxes/pub%2f..%2fsb1/ports/8080/")),
      r -> ascii(RawHttp.get("/v1/sandboxes/" + "a".repeat(65) + "/ports/8080/")),
      r -> ascii(RawHttp.get("/", "Host: 8080-../sb1." + DOMAIN)),
      r -> ascii(RawHttp.get("/v1/sandboxes/PUB/ports/8080/")),
      r -> ascii(RawHttp.get("/v1/sandboxes/pub/ports/8080/?kiln_token=%zz")),
      r -> ascii(RawHttp.get("/", "X-Big: " + "y".repeat(33_000))));

  @Test
  void everyHostileHeadGetsA4xxAndTheProxyKeepsServing() throws Exception {
    long seed = System.nanoTime();
    System.out.println("PortProxyHostileInputTest seed=" + seed);
    Random random = new Random(seed);
    ProxyLimits few = new ProxyLimits(4, Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(5));
    try (EchoBackend backend = EchoBackend.start();
        PortProxy proxy = PortProxy.start(ProxyFixture.anyLoopbackPort(), DOMAIN, ProxyFixture.targets(backend.address()), few)) {
      for (int i = 0; i < 300; i++) {
        int kind = i < KINDS.size() ? i : random.nextInt(KINDS.size());
        byte[] request = KINDS.get(kind).apply(random);
        RawHttp.Response r = RawHttp.send(proxy.address(), request, true);
        String what = "seed=" + seed + " case " + i + " kind " + kind + ": " + new String(request, 0, Math.min(120, request.length), StandardCharsets.ISO_8859_1);
        assertTrue(r.status() >= 400 && r.status() < 500, what + " -> " + r.status());
        r.errorCode();
      }
      RawHttp.Response ok = RawHttp.send(proxy.address(), RawHttp.get("/v1/sandboxes/pub/ports/8080/still"));
      assertEquals(200, ok.status(), ok.body());
      assertTrue(ok.body().contains("path /still\n"));
    }
  }

  private static byte[] randomBytes(Random r) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int n = 1 + r.nextInt(2000);
    for (int i = 0; i < n; i++) b.write(r.nextInt(4) == 0 ? "\r\n\0: /".charAt(r.nextInt(6)) : r.nextInt(256));
    return b.toByteArray();
  }

  private static String absurdPort(Random r) {
    return List.of("0", "65536", "99999", "-1", "080", "8080x", "123456789012", "%38080").get(r.nextInt(8));
  }

  private static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }
}
