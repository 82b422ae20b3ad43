package dev.kiln.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The bench's CLI start lines, with a stand-in launcher: what is run, with what, and how a failure shows. */
class CliStartTest {
  @TempDir Path dir;
  private HttpServer api;
  private final List<String> seen = new CopyOnWriteArrayList<>();
  private String base;

  @BeforeEach
  void stubApi() throws Exception {
    api = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    api.createContext("/", ex -> {
      seen.add(ex.getRequestMethod() + " " + ex.getRequestURI() + " " + ex.getRequestHeaders().getFirst("Authorization"));
      byte[] body = "{\"templates\":[]}".getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    api.start();
    base = "http://127.0.0.1:" + api.getAddress().getPort();
  }

  @AfterEach
  void stop() {
    api.stop(0);
  }

  private Path launcher(String body) throws Exception {
    Path l = dir.resolve("kiln");
    Files.writeString(l, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(l, PosixFilePermissions.fromString("rwx------"));
    return l;
  }

  private static Map<String, String> env(Path launcher) {
    return Map.of("KILN_LAUNCHER", launcher.toString(), "PATH", System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
  }

  @Test
  void timesTheLauncherAndCurlInTurnsWithTheApiInTheirEnvironment() throws Exception {
    // Stands in for `kiln template list`: the same GET, told where by KILN_URL and KILN_API_KEY, plus the cache mode it was given.
    Path l = launcher("echo \"$KILN_CLI_AOT\" >> " + dir.resolve("modes") + "; exec curl -sf -o /dev/null -H \"Authorization: Bearer $KILN_API_KEY\" \"$KILN_URL/v1/templates?$1-$2\"");
    CliStart s = CliStart.of(base, "k1", env(l), BenchReport.text()).orElseThrow();
    s.measure(3);
    assertEquals(3, s.floor.samples(), "the warm-up is not counted");
    assertTrue(s.cli.median() > 0 && s.uncached.median() > 0 && s.floor.median() > 0);
    assertEquals(List.of("wait", "", "off", "", "off", "", "off"), Files.readAllLines(dir.resolve("modes")),
        "the warm-up waits for the AOT cache; then runs with it and without, in turns");
    assertTrue(seen.contains("GET /v1/templates?template-list Bearer k1"), "the launcher ran `template list`: " + seen);
    assertTrue(seen.contains("GET /v1/templates Bearer k1"), "curl made the GET: " + seen);
  }

  @Test
  void aLauncherThatFailsFailsTheBenchWithItsOutput() throws Exception {
    Path l = launcher("echo 'kiln: cannot reach the Kiln daemon'; exit 69");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> CliStart.of(base, "k1", env(l), BenchReport.text()).orElseThrow().measure(1));
    assertTrue(e.getMessage().contains("exited 69: kiln: cannot reach the Kiln daemon"), e.getMessage());
  }

  @Test
  void withoutALauncherTheLinesAreSkipped() {
    assertTrue(CliStart.of(base, "k1", Map.of("PATH", "/usr/bin:/bin"), BenchReport.text()).isEmpty());
  }
}
