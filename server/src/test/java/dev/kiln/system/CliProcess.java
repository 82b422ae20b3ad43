package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The `kiln` CLI as a user runs it: its own process (the classes under test), its environment, its stdin. */
final class CliProcess {
  record Run(int exit, String out, String err) {
    String all() {
      return out + err;
    }
  }

  private CliProcess() {}

  static Run run(Map<String, String> env, String stdin, String... args) throws Exception {
    List<String> argv = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp", System.getProperty("java.class.path"),
        "dev.kiln.cli.KilnCli"));
    argv.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(argv);
    pb.environment().remove("KILN_URL");
    pb.environment().remove("KILN_API_KEY");
    pb.environment().putAll(env);
    if (stdin == null) pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process p = pb.start();
    if (stdin != null) {
      try (var in = p.getOutputStream()) {
        in.write(stdin.getBytes(StandardCharsets.UTF_8));
      }
    }
    var err = new java.util.concurrent.CompletableFuture<String>();
    Thread.ofVirtual().start(() -> {
      try {
        err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
      } catch (java.io.IOException e) {
        err.completeExceptionally(e);
      }
    });
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(180, TimeUnit.SECONDS), "kiln " + String.join(" ", args) + " did not end");
    return new Run(p.exitValue(), out, err.get(30, TimeUnit.SECONDS));
  }

  /** Against a test host, with its URL and key. */
  static Run against(TestHost host, String stdin, String... args) throws Exception {
    return run(Map.of("KILN_URL", host.base, "KILN_API_KEY", host.key), stdin, args);
  }
}
