package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.config.BuildsConfig;
import dev.kiln.config.NetworkConfig;
import dev.kiln.fixtures.ImageSpec;
import dev.kiln.fixtures.LocalRegistry;
import dev.kiln.fixtures.TestImages;
import dev.kiln.fixtures.TestRootfs;
import dev.kiln.host.AtomicFiles;
import dev.kiln.net.NetworkService;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * Templates built from Dockerfiles, each step in a real build VM: multi-stage with a C compiler
 * from the local registry, the instructions' effects seen in a sandbox, the step cache read from
 * the build record, a start command captured in the snapshot and answering through the port proxy
 * at once, a build's network and disk kept in bounds, and bad input refused naming its line.
 *
 * <p>It runs beside the other classes, its tests one after another (junit-platform.properties): its
 * daemon, registry, network prefix, pool and resolver port are its own.
 */
@Tag("system")
@Execution(ExecutionMode.CONCURRENT)
class DockerfileBuildSystemTest {
  private static final String PREFIX = "kb";
  private static final String HELLO_C = "#include <stdio.h>\nint main(void) { printf(\"%s\\n\", \"hello from stage one\"); return 0; }\n";
  private static TestHost host;
  private static LocalRegistry registry;
  private static Path work;
  private static String busybox;
  private static String cc;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void up() throws Exception {
    Optional<String> why = NetworkService.unavailableReason();
    if (why.isPresent()) System.out.println("DockerfileBuildSystemTest skipped: " + why.get());
    assumeTrue(why.isEmpty());
    NetworkConfig net = NetworkConfig.DEFAULT.with(true, "10.238.0.0/24", PREFIX, 7871, "127.0.0.1:0", List.of("127.0.0.1:1"));
    host = TestHost.startForBuilds(net, new BuildsConfig(1, 512, 1024, 1, 10, 0, 0));
    work = Files.createTempDirectory("kiln-dockerfile");
    registry = LocalRegistry.start(work.resolve("registry"));
    Path layout = TestImages.layout(work, "busybox", List.of(TestRootfs.busyboxWithProbe(work.resolve("busybox"))), ImageSpec.NONE);
    busybox = TestImages.push(layout, "busybox", registry, "kiln-test/busybox:1", Optional.empty(), TestImages.Compression.GZIP).reference();
    layout = TestImages.layout(work, "cc", List.of(TestRootfs.cc(work.resolve("cc"))), ImageSpec.NONE);
    cc = TestImages.push(layout, "cc", registry, "kiln-test/cc:1", Optional.empty(), TestImages.Compression.GZIP).reference();
  }

  @AfterAll
  static void down() throws Exception {
    if (registry != null) registry.close();
    if (host != null) host.close();
    if (work != null) AtomicFiles.deleteTree(work);
    dev.kiln.host.CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", PREFIX + "_host"), Duration.ofSeconds(10));
  }

  /** A context directory with these files (path → content). */
  private static Path context(String name, Map<String, String> files) throws IOException {
    Path dir = work.resolve("ctx-" + name);
    AtomicFiles.deleteTree(dir);
    for (var f : files.entrySet()) {
      Path p = dir.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      Files.writeString(p, f.getValue());
    }
    return dir;
  }

  /** The context as a tar, made by the host's tar as a client would. */
  private static byte[] tar(Path dir) throws Exception {
    Process p = new ProcessBuilder("tar", "-C", dir.toString(), "-cf", "-", ".").redirectError(ProcessBuilder.Redirect.INHERIT).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertEquals(0, p.waitFor());
    return out;
  }

  private static TestHost.Reply post(byte[] context, String query) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(host.base + "/v1/templates?" + query)).header("Authorization", "Bearer " + host.key)
        .header("Content-Type", "application/x-tar").POST(HttpRequest.BodyPublishers.ofByteArray(context)).build();
    HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
    JsonNode json = r.body().isEmpty() ? null : new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
    return new TestHost.Reply(r.statusCode(), json, r.body());
  }

  /** Builds through the API and waits for the end: ready (snapshot taken) or failed. */
  private static JsonNode build(String name, Path ctx, String query) throws Exception {
    TestHost.Reply r = post(tar(ctx), "name=" + name + (query.isEmpty() ? "" : "&" + query));
    assertEquals(202, r.status(), r.raw());
    return awaitEnd(name);
  }

  private static JsonNode awaitEnd(String name) {
    JsonNode[] t = new JsonNode[1];
    org.awaitility.Awaitility.await("template " + name + " built").atMost(Duration.ofMinutes(10)).pollInterval(Duration.ofMillis(200)).until(() -> {
      t[0] = host.call("GET", "/v1/templates/" + name, null).json();
      String s = t[0].path("status").asText();
      return s.equals("ready") || s.equals("failed");
    });
    return t[0];
  }

  private static JsonNode record(String name) throws Exception {
    TestHost.Reply r = host.call("GET", "/v1/templates/" + name + "/build", null);
    assertEquals(200, r.status(), r.raw());
    return r.json();
  }

  private static String log(String name) throws Exception {
    return host.call("GET", "/v1/templates/" + name + "/logs", null).raw();
  }

  private static JsonNode exec(String sandbox, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + sandbox + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json();
  }

  private static List<String> outcomes(JsonNode record) {
    List<String> out = new ArrayList<>();
    for (JsonNode s : record.path("steps")) if (!s.path("outcome").asText().equals("config")) out.add(s.path("outcome").asText());
    return out;
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void multiStageBuildCompilesInStageOneAndShipsOnlyTheBinaryThroughTheCli() throws Exception {
    Path ctx = context("multi", Map.of("hello.c", HELLO_C, "notes/secret.txt", "left out\n", ".dockerignore", "notes\n", "Dockerfile", """
        ARG CC_IMAGE
        FROM ${CC_IMAGE} AS build
        WORKDIR /src
        COPY hello.c .
        RUN cc -o hello hello.c && ./hello
        FROM %s
        COPY --from=build /src/hello /usr/local/bin/hello
        """.formatted(busybox)));
    long t0 = System.nanoTime();
    CliProcess.Run run = CliProcess.against(host, null, "template", "build", "multi", "--dockerfile", ctx.resolve("Dockerfile").toString(),
        "--context", ctx.toString(), "--build-arg", "CC_IMAGE=" + cc);
    long firstMs = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(0, run.exit(), run.all());
    assertTrue(run.err().contains("hello from stage one"), "the RUN's output streams into the log the CLI follows: " + run.err());
    assertTrue(run.out().contains("ready"), run.out());

    String sb = host.createSandbox(Map.of("template", "multi", "memoryMib", 256));
    assertEquals("hello from stage one\n", exec(sb, "/usr/local/bin/hello").path("stdout").asText());
    assertEquals("no compiler\n", exec(sb, "test -e /usr/bin/tcc || echo no compiler").path("stdout").asText(), "stage two has only the binary");
    host.call("DELETE", "/v1/sandboxes/" + sb, null);

    t0 = System.nanoTime();
    run = CliProcess.against(host, null, "template", "build", "multi", "--dockerfile", ctx.resolve("Dockerfile").toString(), "--context", ctx.toString(),
        "--build-arg", "CC_IMAGE=" + cc);
    long cachedMs = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(0, run.exit(), run.all());
    JsonNode rec = record("multi");
    assertEquals(0, rec.path("vmsStarted").asInt(), "a rebuild with nothing changed makes no VM: " + rec);
    assertEquals(List.of("cached", "cached", "cached", "cached"), outcomes(rec), rec.toString());
    System.out.printf("dockerfile multi-stage: first build %d ms (CLI, to ready), fully cached rebuild %d ms%n", firstMs, cachedMs);
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void instructionsTakeEffectInTheSandboxAndAnEditedLastRunReusesEveryEarlierStep() throws Exception {
    String dockerfile = """
        FROM %s
        ARG APP_USER=app
        ARG GREETING
        RUN echo "$APP_USER:x:1234:1234::/home/$APP_USER:/bin/sh" >> /etc/passwd && echo "$APP_USER:x:1234:" >> /etc/group
        ENV GREETING=${GREETING:-none} APP_HOME=/home/app/work
        WORKDIR $APP_HOME
        COPY --chown=app:app --chmod=0750 data/ ./data/
        USER app
        RUN echo "$GREETING" > data/greeting.txt && id -u > data/uid.txt
        """.formatted(busybox);
    Path ctx = context("effects", Map.of("Dockerfile", dockerfile, "data/a.txt", "a\n", "data/sub/b.txt", "b\n"));
    JsonNode t = build("effects", ctx, "build-arg=GREETING=bonjour&memoryMib=384");
    assertEquals("ready", t.path("status").asText(), t + "\n" + log("effects"));
    String sized = host.createSandbox(Map.of("template", "effects"));
    assertEquals(384, host.call("GET", "/v1/sandboxes/" + sized, null).json().path("memoryMib").asInt(), "the template's default size");
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, sized), "its snapshot is taken at that size");
    host.call("DELETE", "/v1/sandboxes/" + sized, null);
    String sb = host.createSandbox(Map.of("template", "effects", "memoryMib", 256));
    JsonNode r = exec(sb, "id -u; pwd; echo $GREETING; cat data/greeting.txt data/uid.txt; stat -c '%U:%G %a' data data/a.txt data/sub/b.txt");
    assertEquals("1234\n/home/app/work\nbonjour\nbonjour\n1234\napp:app 750\napp:app 750\napp:app 750\n", r.path("stdout").asText(), r.toString());
    host.call("DELETE", "/v1/sandboxes/" + sb, null);

    Files.writeString(ctx.resolve("Dockerfile"), dockerfile.replace("id -u > data/uid.txt", "id -un > data/uid.txt"));
    t = build("effects", ctx, "build-arg=GREETING=bonjour&memoryMib=384");
    assertEquals("ready", t.path("status").asText(), t.toString());
    JsonNode rec = record("effects");
    assertEquals(List.of("cached", "cached", "cached", "ran"), outcomes(rec), "every step above the edited line comes from the cache: " + rec);
    assertEquals(1, rec.path("vmsStarted").asInt(), rec.toString());
    assertTrue(log("effects").contains("WORKDIR /home/app/work: cached"), "the log says which steps were cached");
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void aStartCommandIsRunningInEverySandboxAndAnswersThroughTheProxyOnTheFirstRequest() throws Exception {
    Path ctx = context("web", Map.of("www/index.html", "served from the snapshot\n", "Dockerfile", """
        FROM %s
        COPY www /www
        EXPOSE 8080
        CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
        """.formatted(busybox)));
    JsonNode t = build("web", ctx, "");
    assertEquals("ready", t.path("status").asText(), t.toString());
    assertEquals(8080, t.path("runtime").path("readyPort").asInt(), t.toString());
    host.awaitTemplateSnapshot("web");
    long t0 = System.nanoTime();
    String sb = host.createSandbox(Map.of("template", "web", "memoryMib", 512, "network", Map.of("mode", "internet")));
    HttpResponse<String> first = proxyGet(sb, 8080);
    long withStartMs = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(200, first.statusCode(), first.body());
    assertEquals("served from the snapshot\n", first.body());
    host.call("DELETE", "/v1/sandboxes/" + sb, null);

    // The same image without a start command: the server must be started, then waited for.
    Path plain = context("plain", Map.of("www/index.html", "served after a start\n", "Dockerfile", "FROM %s\nCOPY www /www\n".formatted(busybox)));
    assertEquals("ready", build("plain", plain, "").path("status").asText());
    host.awaitTemplateSnapshot("plain");
    t0 = System.nanoTime();
    String plainSandbox = host.createSandbox(Map.of("template", "plain", "memoryMib", 512, "network", Map.of("mode", "internet")));
    sb = plainSandbox;
    assertEquals(201, host.call("POST", "/v1/sandboxes/" + sb + "/processes", Map.of("command", "httpd -f -p 8080 -h /www")).status());
    org.awaitility.Awaitility.await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(20))
        .until(() -> proxyGet(plainSandbox, 8080).statusCode() == 200);
    long withoutStartMs = (System.nanoTime() - t0) / 1_000_000;
    host.call("DELETE", "/v1/sandboxes/" + sb, null);
    System.out.printf("create to first answered request: %d ms with a start command in the snapshot, %d ms starting the server after create%n",
        withStartMs, withoutStartMs);
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void everyBuildIsAVersionThatItsSandboxesKeepAndNameMeansTheLatestReadyOne() throws Exception {
    Path ctx = context("ver", Map.of("Dockerfile", "FROM %s\nRUN echo one > /v\n".formatted(busybox)));
    assertEquals(1, build("ver", ctx, "network=none").path("version").asInt());
    String a = host.createSandbox(Map.of("template", "ver", "memoryMib", 256));
    assertEquals("ver:1", host.call("GET", "/v1/sandboxes/" + a, null).json().path("template").asText(), "a sandbox records its version");

    Files.writeString(ctx.resolve("Dockerfile"), "FROM %s\nRUN echo two > /v\n".formatted(busybox));
    assertEquals(2, build("ver", ctx, "network=none").path("version").asInt());
    String b = host.createSandbox(Map.of("template", "ver", "memoryMib", 256));
    String c = host.createSandbox(Map.of("template", "ver:1", "memoryMib", 256));
    assertEquals("two\n", exec(b, "cat /v").path("stdout").asText(), "NAME is the latest version");
    assertEquals("one\n", exec(c, "cat /v").path("stdout").asText(), "NAME:VERSION is that version");
    assertEquals("one\n", exec(a, "cat /v").path("stdout").asText(), "a sandbox keeps the version it was made from");

    Files.writeString(ctx.resolve("Dockerfile"), "FROM %s\nRUN exit 3\n".formatted(busybox));
    assertEquals("failed", build("ver", ctx, "network=none").path("status").asText());
    String d = host.createSandbox(Map.of("template", "ver", "memoryMib", 256));
    assertEquals("two\n", exec(d, "cat /v").path("stdout").asText(), "a failed rebuild leaves NAME on the latest ready version");
    assertEquals("ver:2", host.call("GET", "/v1/sandboxes/" + d, null).json().path("template").asText());
    assertEquals(List.of(2, 1), versionNumbers("ver"));

    for (String sb : List.of(a, c)) host.call("DELETE", "/v1/sandboxes/" + sb, null);
    assertEquals(List.of(2), versionNumbers("ver"), "a version no sandbox uses, not the latest and not pinned, is removed");
    assertEquals(404, host.call("POST", "/v1/sandboxes", Map.of("template", "ver:1")).status());

    assertEquals(204, host.call("POST", "/v1/templates/ver/versions/2/pin", null).status());
    Files.writeString(ctx.resolve("Dockerfile"), "FROM %s\nRUN echo three > /v\n".formatted(busybox));
    assertEquals(3, build("ver", ctx, "network=none").path("version").asInt());
    for (String sb : List.of(b, d)) host.call("DELETE", "/v1/sandboxes/" + sb, null);
    assertEquals(List.of(3, 2), versionNumbers("ver"), "a pinned version stays");
    assertEquals(204, host.call("DELETE", "/v1/templates/ver/versions/2/pin", null).status());
    String e = host.createSandbox(Map.of("template", "ver", "memoryMib", 256));
    host.call("DELETE", "/v1/sandboxes/" + e, null);
    assertEquals(List.of(3), versionNumbers("ver"), "unpinned, it goes at the next collection");
  }

  private static List<Integer> versionNumbers(String name) throws Exception {
    List<Integer> out = new ArrayList<>();
    for (JsonNode v : host.call("GET", "/v1/templates/" + name + "/versions", null).json().path("versions")) out.add(v.path("version").asInt());
    return out;
  }

  private static HttpResponse<String> proxyGet(String sandbox, int port) throws Exception {
    InetSocketAddress proxy = host.daemon().proxyAddress().orElseThrow();
    String token = host.call("GET", "/v1/sandboxes/" + sandbox + "/network", null).json().path("accessToken").asText();
    HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.getPort() + "/v1/sandboxes/" + sandbox + "/ports/" + port + "/"))
        .header("X-Kiln-Access-Token", token).timeout(Duration.ofSeconds(20)).build();
    return http.send(req, HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void runStepsReachNeitherTheMetadataAddressNorTheHostNorTheDaemon() throws Exception {
    try (ServerSocket listener = new ServerSocket()) {
      listener.bind(new InetSocketAddress("0.0.0.0", 0));
      int daemonPort = URI.create(host.base).getPort();
      Map<String, String> probes = Map.of(
          "metadata", "169.254.169.254 80",
          "host", "$(ip route | awk '/default/ {print $3}') " + listener.getLocalPort(),
          "daemon", "$(ip route | awk '/default/ {print $3}') " + daemonPort);
      for (var probe : probes.entrySet()) {
        String name = "probe-" + probe.getKey();
        Path ctx = context(name, Map.of("Dockerfile", """
            FROM %s
            RUN echo "control for %s" && ip route | grep -q default && httpd -p 127.0.0.1:8000 && tcp-probe 127.0.0.1 8000
            RUN tcp-probe %s
            """.formatted(busybox, probe.getKey(), probe.getValue())));
        JsonNode t = build(name, ctx, "");
        String log = log(name);
        assertEquals("failed", t.path("status").asText(), probe.getKey() + " must not be reachable: " + log);
        assertTrue(log.contains("step 2/3: connected"), "the probe works, and the build VM has a network: " + log);
        assertTrue(log.contains("step 3/3: not connected"), log);
        assertTrue(t.path("error").asText().contains("line 3"), t.toString());
      }
    }
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void aStepThatFillsItsDiskFailsTheBuildAndLeavesNothingBehind() throws Exception {
    Path disks = host.dataDir().resolve("disks");
    Set<Path> before = files(disks);
    Path ctx = context("fill", Map.of("Dockerfile", "FROM %s\nRUN dd if=/dev/zero of=/fill bs=1M count=2048\n".formatted(busybox)));
    JsonNode t = build("fill", ctx, "diskMib=128");
    assertEquals("failed", t.path("status").asText(), t.toString());
    assertTrue(t.path("error").asText().contains("line 2"), t.toString());
    assertTrue(log("fill").contains("No space left on device"), log("fill"));
    assertEquals(before, files(disks), "no layer of the failed step is left");
    try (Stream<Path> runs = Files.list(host.dataDir().resolve("sandboxes"))) {
      assertEquals(List.of(), runs.filter(p -> p.getFileName().toString().startsWith("build-")).toList(), "no build VM's run directory is left");
    }
    // This daemon's build VMs only: another class's daemon may be building beside this one.
    List<String> qemus = dev.kiln.host.CommandRunner.runAllowingFailure(List.of("pgrep", "-af", "build-"), Duration.ofSeconds(5)).stdout().lines()
        .filter(l -> l.contains("qemu") && l.contains(host.dataDir().toString())).toList();
    assertEquals(List.of(), qemus, "no build VM runs");
  }

  private static Set<Path> files(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) return Set.of();
    try (Stream<Path> s = Files.list(dir)) {
      return s.collect(Collectors.toSet());
    }
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void badDockerfilesAndContextsAreRefusedNamingTheLineOrTheLimit() throws Exception {
    Map<String, String> bad = Map.of(
        "FROM %s\nENV GREETING=\"not closed\n".formatted(busybox), "line 2: a double quote is not closed",
        "FROM %s\nFETCH http://example.test/x /x\n".formatted(busybox), "line 2: unknown instruction 'FETCH'",
        "FROM %s\n\nCOPY ../secret /secret\n".formatted(busybox), "line 3: COPY source '../secret' is outside the build context",
        "FROM %s\nRUN --mount=type=cache,target=/x true\n".formatted(busybox), "line 2: RUN --mount is not supported");
    for (var b : bad.entrySet()) {
      Path ctx = context("bad", Map.of("Dockerfile", b.getKey()));
      TestHost.Reply r = post(tar(ctx), "name=bad");
      assertEquals(400, r.status(), r.raw());
      assertEquals("INVALID_DOCKERFILE", r.json().path("error").path("code").asText(), r.raw());
      assertTrue(r.json().path("error").path("message").asText().contains(b.getValue()), r.raw());
    }
    assertEquals(404, host.call("GET", "/v1/templates/bad", null).status(), "nothing was queued");

    Path big = context("big", Map.of("Dockerfile", "FROM %s\n".formatted(busybox)));
    Files.write(big.resolve("blob"), new byte[3 << 20]);
    TestHost.Reply r = post(tar(big), "name=big");
    assertEquals(413, r.status(), r.raw());
    assertTrue(r.json().path("error").path("message").asText().contains("1 MiB (builds.maxContextMib)"), r.raw());
    assertEquals(Set.of(), files(host.dataDir().resolve("builds")), "a refused context leaves nothing behind");
  }
}
