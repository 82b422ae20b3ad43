package dev.kiln;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What scripts/test.sh prints after a failed run (lib.sh's {@code test_failure_digest}): CI shows
 * the end of the output, where Maven's summary gives a failure one line.
 */
class TestFailureDigestTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  @TempDir Path root;

  private String digest() throws Exception {
    Path out = root.resolve("out");
    Process p = new ProcessBuilder("bash", "-c", "source \"$1\" && KILN_ROOT=\"$2\" && test_failure_digest", "test",
        REPO.resolve("scripts/lib.sh").toString(), root.toString()).redirectOutput(out.toFile()).start();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue());
    return Files.readString(out, StandardCharsets.UTF_8);
  }

  private void report(String name, String text) throws Exception {
    Path dir = Files.createDirectories(root.resolve("server/target/surefire-reports"));
    Files.writeString(dir.resolve(name), text);
  }

  @Test
  void aFailuresMessageCausesAndAttachedReportArePrintedWithoutStackFrames() throws Exception {
    report("dev.kiln.system.XTest.txt", """
        Tests run: 2, Failures: 1, Errors: 0, Skipped: 0, Time elapsed: 50 s <<< FAILURE! -- in dev.kiln.system.XTest
        dev.kiln.system.XTest.itWorks -- Time elapsed: 11 s <<< FAILURE!
        org.opentest4j.AssertionFailedError: expected: <a> but was: <b>
        \tat dev.kiln.system.XTest.itWorks(XTest.java:12)
        \tSuppressed: dev.kiln.system.LocalCluster$Report: the logs are kept in /x
        --- the end of control-a (control):
        leading job=ttl-reaper
        Caused by: java.io.IOException: boom
        \t... 12 more
        """);
    report("dev.kiln.system.YTest.txt", "Tests run: 1, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 1 s -- in dev.kiln.system.YTest\n");
    String printed = digest();
    assertTrue(printed.contains("""
        dev.kiln.system.XTest.itWorks -- Time elapsed: 11 s <<< FAILURE!
        org.opentest4j.AssertionFailedError: expected: <a> but was: <b>
        \tSuppressed: dev.kiln.system.LocalCluster$Report: the logs are kept in /x
        --- the end of control-a (control):
        leading job=ttl-reaper
        Caused by: java.io.IOException: boom
        """), printed);
    assertTrue(!printed.contains("XTest.java:12") && !printed.contains("more") && !printed.contains("YTest"), printed);
  }

  @Test
  void aRunWithoutFailuresPrintsNothing() throws Exception {
    report("dev.kiln.system.YTest.txt", "Tests run: 1, Failures: 0, Errors: 0, Skipped: 0, Time elapsed: 1 s -- in dev.kiln.system.YTest\n");
    assertEquals("", digest());
    Files.delete(root.resolve("server/target/surefire-reports/dev.kiln.system.YTest.txt"));
    assertEquals("", digest(), "no reports at all (a build that failed before its tests)");
  }
}
