package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The JavaScript suite in e2b-tests/ (the unmodified e2b npm SDK), run as a user runs it:
 * scripts/e2b-tests.sh in a process of its own, pointed at a daemon by environment variables only.
 */
final class E2bSuite {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();

  private E2bSuite() {}

  static void run(Map<String, String> env) throws Exception {
    Path log = Files.createTempFile("e2b-suite", ".log");
    ProcessBuilder pb = new ProcessBuilder(List.of("bash", REPO.resolve("scripts/e2b-tests.sh").toString())).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("E2B_") || k.startsWith("NODE_"));
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
