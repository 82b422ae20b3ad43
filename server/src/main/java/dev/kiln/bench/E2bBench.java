package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.TemplateSource;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * E2B's SDK, unmodified, running {@code commands.run('true')} through Kiln's E2B API (a node
 * process: e2b-tests/bench/commands-run.mjs, run by scripts/e2b-tests.sh), beside the very command it runs,
 * {@code /bin/bash -l -c true}, through Kiln's own exec route, in the same run on sandboxes of
 * the same template.
 */
final class E2bBench {
  static final String TEMPLATE = "bench-e2b";
  private static final Duration NODE_TIMEOUT = Duration.ofMinutes(5);
  private final Path root;
  private final BenchReport report;

  private E2bBench(Path root, BenchReport report) {
    this.root = root;
    this.report = report;
  }

  /** The bench when this installation has the SDK suite's packages and a Node.js for them (scripts/install.sh installs both). */
  static Optional<E2bBench> of(Path root, BenchReport report) {
    Path suite = root.resolve("e2b-tests");
    if (!Files.isDirectory(suite.resolve("node_modules/e2b"))) {
      report.note("E2B line skipped: " + suite.resolve("node_modules/e2b") + " is missing (scripts/install.sh installs the SDK suite's packages)");
      return Optional.empty();
    }
    try {
      Process p = new ProcessBuilder("bash", "-c", "source scripts/lib.sh && e2b_node_dir").directory(root.toFile()).redirectErrorStream(true).start();
      String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        report.note("E2B line skipped: " + said.replace("\n", " "));
        return Optional.empty();
      }
    } catch (java.io.IOException e) {
      report.note("E2B line skipped: cannot look for a Node.js (" + e.getMessage() + ")");
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
    return Optional.of(new E2bBench(root, report));
  }

  void measure(KilnDaemon daemon, BenchApi api, String base, String key, Path work, int rounds) throws Exception {
    Path rootfs = work.resolve("rootfs-e2b");
    BusyboxRootfs.createWithBash(rootfs);
    daemon.templates().build(TEMPLATE, new TemplateSource.Directory(rootfs.toAbsolutePath()), 256, Optional.empty());
    daemon.sandboxes().snapshot(TEMPLATE);
    Stats own = new Stats("`bash -l -c true` round trip (Kiln API exec)", "ms");
    String id = api.create("{\"template\":\"" + TEMPLATE + "\",\"timeoutSeconds\":600}");
    try {
      String body = "{\"argv\":[\"/bin/bash\",\"-l\",\"-c\",\"true\"]}";
      for (int i = 0; i < 3; i++) api.postJson("/v1/sandboxes/" + id + "/exec", body);
      for (int i = 0; i < rounds; i++) {
        long t0 = System.nanoTime();
        api.postJson("/v1/sandboxes/" + id + "/exec", body);
        own.add((System.nanoTime() - t0) / 1e6);
      }
    } finally {
      api.delete(id);
    }
    Stats sdk = new Stats("commands.run('true') round trip (E2B SDK, E2B API)", "ms");
    for (JsonNode ms : sdkRoundTrips(base, key, work, rounds).path("ms")) sdk.add(ms.asDouble());
    report.line(own);
    report.line(sdk);
    report.compare("E2B SDK commands.run (vs Kiln API exec)", sdk, own);
  }

  private JsonNode sdkRoundTrips(String base, String key, Path work, int rounds) throws Exception {
    Path out = work.resolve("e2b-bench.out");
    ProcessBuilder pb = new ProcessBuilder(List.of("bash", root.resolve("scripts/e2b-tests.sh").toString(), "bench")).directory(root.toFile())
        .redirectErrorStream(true).redirectOutput(out.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("E2B_"));
    pb.environment().putAll(java.util.Map.of("E2B_API_KEY", key, "E2B_API_URL", base, "E2B_SANDBOX_URL", base, "KILN_E2B_TEMPLATE", TEMPLATE,
        "KILN_BENCH_ROUNDS", Integer.toString(rounds)));
    Process p = pb.start();
    if (!p.waitFor(NODE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("the E2B SDK bench ran past " + NODE_TIMEOUT.toMinutes() + " minutes");
    }
    String printed = Files.readString(out, StandardCharsets.UTF_8);
    if (p.exitValue() != 0) throw new IllegalStateException("the E2B SDK bench failed (exit " + p.exitValue() + "):\n" + printed);
    String last = printed.strip().lines().reduce((a, b) -> b).orElse("");
    return new ObjectMapper().readTree(last);
  }
}
