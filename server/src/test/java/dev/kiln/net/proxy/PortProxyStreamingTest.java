package dev.kiln.net.proxy;

import static dev.kiln.net.proxy.EchoBackend.MIB;
import static dev.kiln.net.proxy.ProxyFixture.DOMAIN;
import static dev.kiln.net.proxy.ProxyFixture.TOKEN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bodies of several MiB go through intact both ways, and a response streams rather than buffers. */
class PortProxyStreamingTest {
  private static EchoBackend backend;
  private static PortProxy proxy;
  private static HttpClient http;

  @BeforeAll
  static void start() throws IOException {
    backend = EchoBackend.start();
    proxy = PortProxy.start(ProxyFixture.anyLoopbackPort(), DOMAIN, ProxyFixture.targets(backend.address()));
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  }

  @AfterAll
  static void stop() {
    http.close();
    proxy.close();
    backend.close();
  }

  private static URI uri(String rest) {
    return URI.create("http://127.0.0.1:" + proxy.address().getPort() + "/v1/sandboxes/sb1/ports/8080" + rest);
  }

  @Test
  void aLargePostBodyArrivesIntact() throws Exception {
    byte[] body = new byte[6 * MIB + 123];
    new Random(42).nextBytes(body);
    HttpResponse<String> r = http.send(
        HttpRequest.newBuilder(uri("/upload")).header("X-Kiln-Access-Token", TOKEN).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("body-length " + body.length + "\n"), r.body());
    String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
    assertTrue(r.body().contains("body-sha256 " + sha + "\n"), r.body());
  }

  @Test
  void aLargeResponseStreamsThroughIntact() throws Exception {
    int mib = 50;
    HttpResponse<InputStream> r = http.send(
        HttpRequest.newBuilder(uri("/stream?mib=" + mib + "&kiln_token=" + TOKEN)).build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    MessageDigest got = EchoBackend.sha256();
    long received = 0;
    try (InputStream in = r.body()) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) >= 0; ) {
        got.update(buf, 0, n);
        received += n;
        if (received >= MIB) backend.firstMibReceived.countDown();
      }
    }
    assertEquals((long) mib * MIB, received);
    MessageDigest expected = EchoBackend.sha256();
    byte[] chunk = new byte[MIB];
    for (long off = 0; off < received; off += MIB) {
      for (int i = 0; i < MIB; i++) chunk[i] = EchoBackend.pattern(off + i);
      expected.update(chunk);
    }
    assertArrayEquals(expected.digest(), got.digest());
    assertTrue(backend.streamedBeforeEnd.get(), "the client had the first MiB while the backend still held the rest");
  }
}
