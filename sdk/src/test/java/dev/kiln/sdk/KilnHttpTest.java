package dev.kiln.sdk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the SDK sends and how it reads answers, over real loopback HTTP. The server is a stand-in
 * that answers fixed bodies: a daemon's error, and the answers of something that is not a Kiln
 * daemon (a proxy's page, a web server), which a real daemon never gives.
 */
class KilnHttpTest {
  private HttpServer server;
  private final Map<String, String> seen = new ConcurrentHashMap<>();

  @BeforeEach
  void serve() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    answer("/prefix/v1/sandboxes", 201, "{\"id\":\"sb-new\",\"status\":\"running\"}");
    answer("/prefix/v1/sandboxes/sb-gone", 404, "{\"error\":{\"code\":\"SANDBOX_NOT_FOUND\",\"message\":\"no sandbox sb-gone on this host\"}}");
    answer("/prefix/v1/proxy-page", 502, "<html>Bad Gateway</html>");
    answer("/prefix/v1/web-page", 200, "<html>hello</html>");
    answer("/prefix/v1/empty", 204, "");
    server.start();
  }

  private void answer(String path, int status, String body) {
    server.createContext(path, ex -> {
      seen.put(ex.getRequestMethod() + " " + ex.getRequestURI(), new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
      seen.put("authorization", String.valueOf(ex.getRequestHeaders().getFirst("Authorization")));
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
      if (b.length > 0) ex.getResponseBody().write(b);
      ex.close();
    });
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private Kiln kiln() {
    return new Kiln("http://127.0.0.1:" + server.getAddress().getPort() + "/prefix/", "key-1");
  }

  @Test
  void createSendsTheTypedOptionsWithTheKeyBelowTheUrlsPath() throws Exception {
    try (Kiln kiln = kiln()) {
      Sandbox sb = Sandbox.create(kiln, CreateOptions.builder("base").vcpus(2).env("A", "1").build());
      assertEquals("sb-new", sb.id());
      JsonNode body = Kiln.JSON.readTree(seen.get("POST /prefix/v1/sandboxes"));
      assertEquals(Kiln.JSON.readTree("{\"template\":\"base\",\"vcpus\":2,\"env\":{\"A\":\"1\"}}"), body);
      assertEquals("Bearer key-1", seen.get("authorization"));
    }
  }

  @Test
  void theApisErrorBodyIsTheExceptionsCodeStatusAndDetail() {
    try (Kiln kiln = kiln()) {
      KilnException e = assertThrows(KilnException.class, () -> kiln.api().get("/v1/sandboxes/sb-gone"));
      assertEquals(404, e.status());
      assertEquals("SANDBOX_NOT_FOUND", e.code());
      assertEquals("no sandbox sb-gone on this host", e.detail());
    }
  }

  @Test
  void anotherServersAnswersSaySo() {
    try (Kiln kiln = kiln()) {
      KilnException proxy = assertThrows(KilnException.class, () -> kiln.api().get("/v1/proxy-page"));
      assertEquals("HTTP_502", proxy.code());
      assertTrue(proxy.detail().contains("answered HTTP 502 without a Kiln error body; is KILN_URL a Kiln daemon?"), proxy.detail());
      KilnException page = assertThrows(KilnException.class, () -> kiln.api().get("/v1/web-page"));
      assertEquals("CLIENT_ERROR", page.code());
      assertTrue(page.detail().contains("not JSON"), page.detail());
      assertEquals("", kiln.api().delete("/v1/empty"), "no body is not an error");
    }
  }

  @Test
  void aRefusedConnectionIsSaidInWords() throws IOException {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    try (Kiln kiln = new Kiln("http://127.0.0.1:" + closed, "")) {
      KilnException e = assertThrows(KilnException.class, () -> kiln.api().get("/v1/templates"));
      assertEquals(0, e.status());
      assertEquals("cannot reach the Kiln daemon at http://127.0.0.1:" + closed + ": connection refused (is `kiln daemon` running there? set KILN_URL)",
          e.detail());
    }
  }

  @Test
  void aUrlWithoutSchemeIsRefusedBeforeAnyRequest() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Kiln("127.0.0.1:7788", ""));
    assertTrue(e.getMessage().contains("http://"), e.getMessage());
  }
}
