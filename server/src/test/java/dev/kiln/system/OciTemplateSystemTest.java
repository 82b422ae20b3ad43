package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.fixtures.ImageSpec;
import dev.kiln.fixtures.LocalRegistry;
import dev.kiln.fixtures.TestImages;
import dev.kiln.fixtures.TestImages.Compression;
import dev.kiln.fixtures.TestImages.Pushed;
import dev.kiln.fixtures.TestRootfs;
import dev.kiln.fixtures.TokenServer;
import dev.kiln.host.AtomicFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Templates from real OCI images: built here with umoci from busybox-static, musl, a static binary
 * and debootstrap'd Debian, pushed with skopeo to Debian's docker-registry on loopback, pulled by
 * the daemon, booted and run.
 */
@Tag("system")
class OciTemplateSystemTest {
  private static TestHost host;
  private static LocalRegistry registry;
  private static Path work;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.start();
    work = Files.createTempDirectory("kiln-oci");
    registry = LocalRegistry.start(work.resolve("registry"));
  }

  @AfterAll
  static void down() throws Exception {
    if (registry != null) registry.close();
    if (host != null) host.close();
    if (work != null) AtomicFiles.deleteTree(work);
  }

  private static Path layout(String tag, List<Path> layers, ImageSpec spec) throws Exception {
    return TestImages.layout(work, tag, layers, spec);
  }

  private static Pushed push(Path layout, String tag, String repoAndTag, Compression c) throws Exception {
    return TestImages.push(layout, tag, registry, repoAndTag, Optional.empty(), c);
  }

  /** Submits a build (202) and polls until it ends; returns the final template. */
  private static JsonNode build(String name, Map<String, Object> extra) throws Exception {
    Map<String, Object> body = new LinkedHashMap<>(extra);
    body.put("name", name);
    body.putIfAbsent("freeSpaceMib", 64);
    TestHost.Reply r = host.call("POST", "/v1/templates", body);
    assertEquals(202, r.status(), r.raw());
    JsonNode[] t = new JsonNode[1];
    org.awaitility.Awaitility.await("template " + name + " built").atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(100)).until(() -> {
      t[0] = host.call("GET", "/v1/templates/" + name, null).json();
      return t[0].path("status").asText().equals("ready") || t[0].path("status").asText().equals("failed");
    });
    return t[0];
  }

  private static JsonNode buildReady(String name, String image) throws Exception {
    JsonNode t = build(name, Map.of("image", image));
    assertEquals("ready", t.path("status").asText(), t.toString());
    return t;
  }

  private static JsonNode exec(String sandbox, Map<String, Object> body) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + sandbox + "/exec", body);
    assertEquals(200, r.status(), r.raw());
    return r.json();
  }

  private static String logOf(String template) throws Exception {
    return host.call("GET", "/v1/templates/" + template + "/logs", null).raw();
  }

  @Test
  void registryImageBootsWithItsConfigAsExecDefaultsAndRebuildsReuseEverything() throws Exception {
    Path rootfs = TestRootfs.busybox(work.resolve("busybox"));
    ImageSpec spec = new ImageSpec(List.of("PATH=/bin:/usr/bin", "GREETING=hello from the image"), List.of(), List.of("sh"),
        Optional.of("/srv/app"), Optional.of("nobody"));
    Pushed pushed = push(layout("busybox", List.of(rootfs), spec), "busybox", "kiln/busybox:1", Compression.GZIP);

    long t0 = System.nanoTime();
    JsonNode t = buildReady("oci-busybox", pushed.reference());
    long firstMs = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(pushed.digest(), t.path("imageDigest").asText());
    assertEquals("/srv/app", t.path("config").path("workingDir").asText());
    assertEquals("docker://" + pushed.reference(), t.path("source").asText());

    String sb = host.createSandbox(Map.of("template", "oci-busybox", "memoryMib", 256));
    JsonNode r = exec(sb, Map.of("command", "echo $GREETING; pwd; id -u"));
    assertEquals("hello from the image\n/srv/app\n65534\n", r.path("stdout").asText(), r.toString());
    assertEquals("0\n", exec(sb, Map.of("command", "id -u", "user", "root")).path("stdout").asText(), "the request overrides the image user");
    assertEquals(409, host.call("DELETE", "/v1/templates/oci-busybox", null).status(), "in use");
    host.call("DELETE", "/v1/sandboxes/" + sb, null);

    t0 = System.nanoTime();
    buildReady("oci-busybox", pushed.reference());
    long againMs = (System.nanoTime() - t0) / 1_000_000;
    String log = logOf("oci-busybox");
    assertTrue(log.contains("cached, not downloaded") && log.contains("already built"), log);
    assertFalse(log.contains("downloading"), log);

    JsonNode other = buildReady("oci-busybox-copy", pushed.reference());
    assertTrue(logOf("oci-busybox-copy").contains("reusing its root filesystem"));
    assertEquals(t.path("sizeBytes").asLong(), other.path("sizeBytes").asLong());
    System.out.printf("oci-busybox: first build %d ms, rebuild of the same digest %d ms%n", firstMs, againMs);
    host.call("DELETE", "/v1/templates/oci-busybox-copy", null);
  }

  @Test
  void zstdLayersAndOciLayoutSources() throws Exception {
    Path rootfs = TestRootfs.busybox(work.resolve("busybox-z"));
    Path layout = layout("bbz", List.of(rootfs), ImageSpec.NONE);
    Pushed zstd = push(layout, "bbz", "kiln/busybox:zstd", Compression.ZSTD);
    buildReady("oci-zstd", zstd.reference());
    assertTrue(logOf("oci-zstd").contains("layer 1/1"));
    String sb = host.createSandbox(Map.of("template", "oci-zstd", "memoryMib", 256));
    assertEquals("zstd ok\n", exec(sb, Map.of("argv", List.of("echo", "zstd ok"))).path("stdout").asText());
    host.call("DELETE", "/v1/sandboxes/" + sb, null);

    JsonNode fromLayout = buildReady("oci-layout", "oci:" + layout + ":bbz");
    assertTrue(fromLayout.path("source").asText().startsWith("oci:"), fromLayout.toString());
  }

  @Test
  void interruptedDownloadResumesWhereItStopped() throws Exception {
    Path rootfs = TestRootfs.musl(work.resolve("resume"));
    byte[] noise = new byte[800_000]; // incompressible, so the layer is big enough to cut in two
    new java.util.Random(7).nextBytes(noise);
    Files.write(rootfs.resolve("noise"), noise);
    Pushed p = push(layout("resume", List.of(rootfs), ImageSpec.NONE), "resume", "kiln/resume:1", Compression.GZIP);
    // What an interrupted download leaves behind: the first bytes of the layer under <hex>.partial.
    java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
    JsonNode manifest = TestHost.JSON.readTree(http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(registry.url() + "/v2/kiln/resume/manifests/1"))
        .header("Accept", "application/vnd.oci.image.manifest.v1+json").build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body());
    String layer = manifest.at("/layers/0/digest").asText();
    byte[] head = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(registry.url() + "/v2/kiln/resume/blobs/" + layer))
        .header("Range", "bytes=0-99999").build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray()).body();
    assertEquals(100_000, head.length);
    Path blobs = Files.createDirectories(host.dir.resolve("data/blobs/sha256"));
    Files.write(blobs.resolve(layer.substring("sha256:".length()) + ".partial"), head);
    buildReady("oci-resume", p.reference());
    assertTrue(logOf("oci-resume").contains("resuming at 100000 bytes"), logOf("oci-resume"));
    assertTrue(Files.exists(blobs.resolve(layer.substring("sha256:".length()))), "the verified blob is in the cache");
  }

  @Test
  void whiteoutsAndOpaqueDirectoriesAreApplied() throws Exception {
    List<Path> layers = TestRootfs.whiteoutLayers(work.resolve("wo"));
    for (Path l : layers) TestRootfs.busybox(l);
    Path layout = layout("wo", layers, ImageSpec.NONE);
    Path replacement = Files.createDirectories(work.resolve("replacement"));
    Files.writeString(replacement.resolve("fresh"), "fresh\n");
    TestImages.addOpaqueLayer(layout, "wo", replacement, "/opq");
    Pushed p = push(layout, "wo", "kiln/whiteouts:1", Compression.GZIP);
    buildReady("oci-whiteouts", p.reference());
    String sb = host.createSandbox(Map.of("template", "oci-whiteouts", "memoryMib", 256));
    JsonNode r = exec(sb, Map.of("command", "ls /data; echo --; ls /opq"));
    assertEquals("keep\n--\nfresh\n", r.path("stdout").asText(), r.toString());
    host.call("DELETE", "/v1/sandboxes/" + sb, null);
  }

  @Test
  void muslAndShellLessImagesBoot() throws Exception {
    Pushed musl = push(layout("musl", List.of(TestRootfs.musl(work.resolve("musl"))), ImageSpec.NONE), "musl", "kiln/musl:1", Compression.GZIP);
    buildReady("oci-musl", musl.reference());
    String sb = host.createSandbox(Map.of("template", "oci-musl", "memoryMib", 256));
    assertEquals("hello from musl\n", exec(sb, Map.of("argv", List.of("/usr/bin/hello"))).path("stdout").asText());
    host.call("DELETE", "/v1/sandboxes/" + sb, null);

    Pushed bare = push(layout("bare", List.of(TestRootfs.noShell(work.resolve("bare"))), ImageSpec.NONE), "bare", "kiln/bare:1", Compression.GZIP);
    buildReady("oci-bare", bare.reference());
    sb = host.createSandbox(Map.of("template", "oci-bare", "memoryMib", 256));
    JsonNode out = exec(sb, Map.of("argv", List.of("/hello")));
    assertEquals(0, out.path("exitCode").asInt(-1), out.toString());
    assertFalse(out.path("stdout").asText().isEmpty());
    TestHost.Reply noShell = host.call("POST", "/v1/sandboxes/" + sb + "/exec", Map.of("command", "echo hi"));
    assertEquals(400, noShell.status(), noShell.raw());
    assertEquals("COMMAND_NOT_FOUND", noShell.json().path("error").path("code").asText());
    assertTrue(noShell.json().path("error").path("message").asText().contains("this template has no shell"), noShell.raw());
    host.call("DELETE", "/v1/sandboxes/" + sb, null);
  }

  @Test
  void registryWithBasicAuth() throws Exception {
    try (LocalRegistry secured = LocalRegistry.startWithBasicAuth(work.resolve("secured"), "kiln", "s3cret")) {
      Path layout = layout("auth", List.of(TestRootfs.busybox(work.resolve("busybox-auth"))), ImageSpec.NONE);
      Pushed p = TestImages.push(layout, "auth", secured, "kiln/private:1", secured.credentials(), Compression.GZIP);
      JsonNode anonymous = build("oci-private", Map.of("image", p.reference()));
      assertEquals("failed", anonymous.path("status").asText());
      assertTrue(anonymous.path("error").asText().contains("HTTP 401"), anonymous.toString());
      JsonNode wrong = build("oci-private", Map.of("image", p.reference(), "credentials", Map.of("username", "kiln", "password", "nope")));
      assertTrue(wrong.path("error").asText().contains("HTTP 401") && wrong.path("error").asText().contains("user kiln"), wrong.toString());
      JsonNode ok = build("oci-private", Map.of("image", p.reference(), "credentials", Map.of("username", "kiln", "password", "s3cret")));
      assertEquals("ready", ok.path("status").asText(), ok.toString());
    }
  }

  @Test
  void registryWithBearerTokenAuth() throws Exception {
    try (TokenServer tokens = TokenServer.start(work.resolve("tokens"), "kiln", "t0ken-pw");
         LocalRegistry secured = LocalRegistry.startWithTokenAuth(work.resolve("token-registry"), tokens, "kiln", "t0ken-pw")) {
      Path layout = layout("bearer", List.of(TestRootfs.busybox(work.resolve("busybox-bearer"))), ImageSpec.NONE);
      Pushed p = TestImages.push(layout, "bearer", secured, "kiln/bearer:1", secured.credentials(), Compression.GZIP);
      JsonNode anonymous = build("oci-bearer", Map.of("image", p.reference()));
      assertTrue(anonymous.path("error").asText().contains("token service") && anonymous.path("error").asText().contains("HTTP 401"), anonymous.toString());
      int before = tokens.tokensIssued();
      JsonNode ok = build("oci-bearer", Map.of("image", p.reference(), "credentials", Map.of("username", "kiln", "password", "t0ken-pw")));
      assertEquals("ready", ok.path("status").asText(), ok.toString());
      assertEquals(1, tokens.tokensIssued() - before, "one token for the whole pull: the session reuses it");
    }
  }

  @Test
  void failuresNameTheRegistryTheImageAndTheStatus() throws Exception {
    JsonNode missing = build("oci-missing", Map.of("image", registry.hostPort() + "/kiln/nothing:here"));
    assertEquals("failed", missing.path("status").asText());
    String e = missing.path("error").asText();
    assertTrue(e.contains("registry " + registry.hostPort()) && e.contains("kiln/nothing:here") && e.contains("HTTP 404"), e);
    JsonNode closed = build("oci-closed", Map.of("image", "127.0.0.1:1/kiln/x:1"));
    assertTrue(closed.path("error").asText().contains("cannot reach"), closed.toString());
    assertEquals(409, host.call("POST", "/v1/sandboxes", Map.of("template", "oci-missing")).status(), "a failed template boots nothing");
    TestHost.Reply bad = host.call("POST", "/v1/templates", Map.of("name", "x", "image", "Not A Reference"));
    assertEquals(400, bad.status(), bad.raw());
  }

  @Test
  void debianWithPythonFromARegistryRunsPython() throws Exception {
    Path debian = TestRootfs.debianPython();
    Pushed p = push(layout("debian", List.of(debian), new ImageSpec(List.of("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
        List.of(), List.of("python3"), Optional.empty(), Optional.empty())), "debian", "kiln/debian-python:bookworm", Compression.GZIP);
    long t0 = System.nanoTime();
    buildReady("oci-debian", p.reference());
    long firstMs = (System.nanoTime() - t0) / 1_000_000;
    System.out.println("oci-debian build log:\n" + logOf("oci-debian"));
    t0 = System.nanoTime();
    buildReady("oci-debian", p.reference());
    System.out.printf("oci-debian: first build %d ms, rebuild of the same digest %d ms%n", firstMs, (System.nanoTime() - t0) / 1_000_000);
    String sb = host.createSandbox(Map.of("template", "oci-debian", "memoryMib", 512));
    JsonNode r = exec(sb, Map.of("argv", List.of("python3", "-c", "import sys; print(6*7, sys.version_info[0])")));
    assertEquals("42 3\n", r.path("stdout").asText(), r.toString());
    host.call("DELETE", "/v1/sandboxes/" + sb, null);
  }
}
