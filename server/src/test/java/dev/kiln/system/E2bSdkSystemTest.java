package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kiln.fixtures.TestRootfs;
import dev.kiln.image.TemplateSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The unmodified {@code e2b} npm SDK (pinned in e2b-tests/package-lock.json) drives a real daemon
 * with real VMs through Kiln's E2B API: the JavaScript suite in e2b-tests/test, run by
 * scripts/e2b-tests.sh as a user would run it, with only environment variables pointing it here.
 */
@Tag("system")
class E2bSdkSystemTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  static final String TEMPLATE = "e2b";
  private static TestHost host;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithSnapshots();
    Path rootfs = TestRootfs.withBash(host.dir.resolve("e2b-rootfs"));
    host.daemon.templates().build(TEMPLATE, new TemplateSource.Directory(rootfs), 256, Optional.of(TestHost.MACHINE));
    host.awaitTemplateSnapshot(TEMPLATE);
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  @Test
  void theE2bSdkSuitePassesWithTheApiAndEnvdOnOneBaseUrl() throws Exception {
    Map<String, String> env = Map.of("E2B_API_KEY", host.key, "E2B_API_URL", host.base, "E2B_SANDBOX_URL", host.base, "KILN_E2B_TEMPLATE", TEMPLATE);
    runSuite(env);
  }

  private static void runSuite(Map<String, String> env) throws Exception {
    Path log = Files.createTempFile("e2b-suite", ".log");
    ProcessBuilder pb = new ProcessBuilder(List.of("bash", REPO.resolve("scripts/e2b-tests.sh").toString())).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("E2B_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    boolean done = p.waitFor(Duration.ofMinutes(15).toMillis(), TimeUnit.MILLISECONDS);
    if (!done) p.destroyForcibly().waitFor();
    String output = Files.readString(log, StandardCharsets.UTF_8);
    Files.deleteIfExists(log);
    System.out.println(output);
    assertEquals(0, done ? p.exitValue() : -1, "the E2B SDK suite failed (or ran past 15 minutes):\n" + output);
  }
}
