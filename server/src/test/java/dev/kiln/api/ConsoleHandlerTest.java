package dev.kiln.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.console.ConsoleAssets;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The console's files as the build put them in target/classes, served with their policy and headers. */
class ConsoleHandlerTest {
  private LoopbackServer server;
  private String base;
  private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  @BeforeEach
  void up() throws Exception {
    server = LoopbackServer.start(new ConsoleHandler(ConsoleAssets.fromJar().orElseThrow(() -> new AssertionError("the build put no console in target/classes"))));
    base = server.base();
  }

  @AfterEach
  void down() throws Exception {
    server.close();
    http.close();
  }

  private HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
    if (headers.length > 0) b.headers(headers);
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void theRootLeadsToTheConsole() throws Exception {
    for (String path : new String[] {"/", "/console"}) {
      HttpResponse<String> r = get(path);
      assertEquals(302, r.statusCode());
      assertEquals("/console/", r.headers().firstValue("Location").orElseThrow());
    }
  }

  @Test
  void thePageCarriesAFreshStyleNonceAndAPolicyWithoutUnsafeInline() throws Exception {
    HttpResponse<String> first = get("/console/");
    HttpResponse<String> second = get("/console/");
    assertEquals(200, first.statusCode());
    String csp = first.headers().firstValue("Content-Security-Policy").orElseThrow();
    assertFalse(csp.contains("unsafe-inline") || csp.contains("unsafe-eval"), csp);
    assertTrue(csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), csp);
    Matcher inHeader = Pattern.compile("'nonce-([A-Za-z0-9+/=]+)'").matcher(csp);
    assertTrue(inHeader.find(), csp);
    assertTrue(first.body().contains("content=\"" + inHeader.group(1) + "\""), "the page hands its script the header's nonce");
    assertFalse(first.body().contains("__STYLE_NONCE__"));
    assertNotEquals(csp, second.headers().firstValue("Content-Security-Policy").orElseThrow(), "a nonce per load");
    assertEquals("no-store", first.headers().firstValue("Cache-Control").orElseThrow());
    assertEquals("nosniff", first.headers().firstValue("X-Content-Type-Options").orElseThrow());
    assertEquals("DENY", first.headers().firstValue("X-Frame-Options").orElseThrow());
    assertFalse(first.body().contains("<script>"), "no inline script in the page");
  }

  @Test
  void scriptsAreRevalidatedByTheirETag() throws Exception {
    HttpResponse<String> js = get("/console/console.js");
    assertEquals(200, js.statusCode());
    assertTrue(js.headers().firstValue("Content-Type").orElseThrow().startsWith("text/javascript"));
    String etag = js.headers().firstValue("ETag").orElseThrow();
    assertEquals(304, get("/console/console.js", "If-None-Match", etag).statusCode());
    assertEquals(200, get("/console/console.js", "If-None-Match", "\"other\"").statusCode());
  }

  @Test
  void whatTheConsoleDoesNotHoldIsA404AndOtherPathsPassOn() throws Exception {
    assertEquals(404, get("/console/../openapi.yaml").statusCode());
    assertEquals(404, get("/console/nothing.js").statusCode());
    assertEquals(404, get("/v1/sandboxes").statusCode(), "not the console's: left to the next handler (none here)");
  }
}
