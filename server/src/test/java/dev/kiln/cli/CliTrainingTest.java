package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The AOT training run, as the launcher starts it: in its own JVM, with no daemon. What it loads
 * is what every CLI start loads from the cache, so none of the daemon's code or libraries may be
 * among it (docs/adr/0008-cli-start-time.md).
 */
class CliTrainingTest {
  /** Class name prefixes of the daemon side: its packages and the libraries only it uses. */
  private static final List<String> DAEMON_SIDE = List.of("org.eclipse.jetty.", "org.sqlite.", "org.postgresql.", "org.flywaydb.", "com.zaxxer.", "ch.qos.logback.", "org.slf4j.",
      "org.apache.commons.compress.", "com.github.luben.", "com.fasterxml.jackson.datatype.", "dev.kiln.daemon.", "dev.kiln.api.",
      "dev.kiln.store.", "dev.kiln.sandbox.", "dev.kiln.vmm.", "dev.kiln.net.", "dev.kiln.image.", "dev.kiln.agent.", "dev.kiln.host.",
      "dev.kiln.bench.", "dev.kiln.config.", "dev.kiln.error.");
  private static final Pattern LOADED = Pattern.compile("(?m)^(\\S+) source: ");

  @Test
  void runsTheCommonCommandsAgainstItsStubAndLoadsNothingOfTheDaemon(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("classes.log");
    Path out = dir.resolve("out.txt");
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
        "-Xlog:class+load=info:file=" + log + ":none", "-cp", System.getProperty("java.class.path"), CliTraining.class.getName())
        .redirectErrorStream(true).redirectOutput(out.toFile()).start();
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the training finished");
    String printed = Files.readString(out, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), printed);
    assertTrue(printed.contains("ran " + CliTraining.COMMANDS.size() + " commands (0 not as expected)"),
        "every training command answered as it does against a daemon; if a command changed, change CliTraining with it: " + printed);
    Matcher m = LOADED.matcher(Files.readString(log, StandardCharsets.UTF_8));
    int classes = 0;
    StringBuilder daemonSide = new StringBuilder();
    StringBuilder tls = new StringBuilder();
    while (m.find()) {
      classes++;
      String name = m.group(1);
      if (DAEMON_SIDE.stream().anyMatch(name::startsWith)) daemonSide.append(name).append('\n');
      if (name.startsWith("sun.security.ssl.")) tls.append(name).append('\n');
    }
    assertTrue(classes > 1000, "read the class log: " + classes + " classes");
    assertEquals("", daemonSide.toString(), "daemon-side classes loaded by the CLI's training run");
    assertEquals("", tls.toString(), "the training's calls are plain HTTP: TLS is set up at a first TLS connection only (DeferredTls)");
  }
}
