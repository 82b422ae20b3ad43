package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.config.E2bConfig;
import dev.kiln.fixtures.TestCertificates;
import dev.kiln.fixtures.TestRootfs;
import dev.kiln.image.TemplateSource;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;

/**
 * The unmodified {@code e2b} npm SDK (pinned in e2b-tests/package-lock.json) drives a real daemon
 * with real VMs through Kiln's E2B API: the JavaScript suite in e2b-tests/test, run by
 * scripts/e2b-tests.sh as a user would run it, with only environment variables pointing it here.
 *
 * <p>It runs beside the other classes, its tests one after another (junit-platform.properties): its
 * daemon has no network and is its own.
 */
@Tag("system")
@Execution(ExecutionMode.CONCURRENT)
class E2bSdkSystemTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  static final String TEMPLATE = "e2b";
  /** A reserved name (RFC 6761): the suite resolves it to {@link #ADDRESS} in its own process only (e2b-tests/lib/resolve-domain.mjs). */
  static final String DOMAIN = "kiln-e2b.test";
  /** A loopback address of the test's own: the SDK's host-name URLs name no port, so the listener is on 443. */
  static final String ADDRESS = "127.0.3.1";
  private static TestHost host;
  private static TestCertificates certificates;

  @BeforeAll
  static void up() throws Exception {
    Path tls = Files.createTempDirectory("e2b-tls");
    certificates = TestCertificates.make(tls, DOMAIN);
    host = TestHost.startWithE2b(new E2bConfig(DOMAIN, ADDRESS + ":443", certificates.certificate(), certificates.privateKey()));
    Path rootfs = TestRootfs.withBash(host.dir.resolve("e2b-rootfs"));
    host.daemon.templates().build(TEMPLATE, new TemplateSource.Directory(rootfs), 256, Optional.of(TestHost.MACHINE));
    host.awaitTemplateSnapshot(TEMPLATE);
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (host != null) host.close();
    } finally {
      if (certificates != null) dev.kiln.host.AtomicFiles.deleteTree(certificates.ca().getParent());
    }
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void theE2bSdkSuitePassesWithTheApiAndEnvdOnOneBaseUrl() throws Exception {
    Map<String, String> env = Map.of("E2B_API_KEY", host.key, "E2B_API_URL", host.base, "E2B_SANDBOX_URL", host.base, "KILN_E2B_TEMPLATE", TEMPLATE);
    E2bSuite.run(env);
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void theE2bSdkSuitePassesOverHttpsWithOnlyTheDomainAndKeyGiven() throws Exception {
    Map<String, String> env = Map.of("E2B_API_KEY", host.key, "E2B_DOMAIN", DOMAIN, "KILN_E2B_TEMPLATE", TEMPLATE,
        "NODE_EXTRA_CA_CERTS", certificates.ca().toString(),
        "NODE_OPTIONS", "--import " + REPO.resolve("e2b-tests/lib/resolve-domain.mjs"),
        "KILN_TEST_DOMAIN", DOMAIN, "KILN_TEST_DOMAIN_ADDRESS", ADDRESS);
    E2bSuite.run(env);
  }

  /**
   * 500 malformed envd and control-plane requests (random bytes, broken envelopes, JSON of the
   * wrong shape, bad multipart, wrong tokens, each a seeded draw printed for a rerun): every one
   * gets an error in the SDK's shape, never a 500 or a Java name, and the daemon and the sandbox
   * still answer after.
   */
  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void aFuzzOfMalformedConnectFramesAndBodiesLeavesTheDaemonHealthy() throws Exception {
    long seed = Long.getLong("kiln.fuzz.seed", System.nanoTime());
    System.out.println("fuzz seed " + seed + " (rerun the same cases with -Dkiln.fuzz.seed=" + seed + ")");
    java.util.Random random = new java.util.Random(seed);
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    JsonNode made = JSON.readTree(send(http, HttpRequest.newBuilder(URI.create(host.base + "/v2/sandboxes")).header("X-API-KEY", host.key)
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"templateID\":\"" + TEMPLATE + "\",\"timeout\":600}")))
        .body());
    String id = made.path("sandboxID").asText();
    String token = made.path("envdAccessToken").asText();
    try {
      E2bFuzz fuzz = new E2bFuzz(random, id, token, host.key);
      for (int i = 0; i < 500; i++) {
        E2bFuzz.Case c = fuzz.next();
        HttpResponse<String> r;
        try {
          r = send(http, c.request(host.base));
        } catch (java.io.IOException e) {
          throw new AssertionError("case " + i + " (" + c.description() + "): no answer: " + e.getMessage(), e);
        }
        String what = "case " + i + " (" + c.description() + "): " + r.statusCode() + " " + r.body();
        // 501 is Connect's "unimplemented" (a method envd does not have); 502 is E2B's answer for a sandbox not running here.
        org.junit.jupiter.api.Assertions.assertTrue(r.statusCode() < 500 || r.statusCode() == 501 || r.statusCode() == 502 && c.unknownSandbox(), what);
        org.junit.jupiter.api.Assertions.assertFalse(JAVA_NAME.matcher(r.body()).find(), what);
        if (r.statusCode() >= 400) org.junit.jupiter.api.Assertions.assertTrue(r.body().contains("\"code\""), what);
      }
      assertEquals(200, send(http, HttpRequest.newBuilder(URI.create(host.base + "/healthz")).GET()).statusCode());
      HttpResponse<String> stat = send(http, HttpRequest.newBuilder(URI.create(host.base + "/filesystem.Filesystem/Stat")).header("E2b-Sandbox-Id", id)
          .header("X-Access-Token", token).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"path\":\"/\"}")));
      assertEquals(200, stat.statusCode(), stat.body());
      org.junit.jupiter.api.Assertions.assertTrue(stat.body().contains("FILE_TYPE_DIRECTORY"), stat.body());
    } finally {
      send(http, HttpRequest.newBuilder(URI.create(host.base + "/sandboxes/" + id)).header("X-API-KEY", host.key).DELETE());
    }
  }

  private static final java.util.regex.Pattern JAVA_NAME = java.util.regex.Pattern.compile("\\b(java|javax|dev\\.kiln|com\\.fasterxml|org\\.eclipse)\\.[a-z]|Exception\\b|\\$[A-Z]");
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

  private static HttpResponse<String> send(HttpClient http, HttpRequest.Builder request) throws Exception {
    return http.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
  }


}
