package dev.kiln.bench;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The CLI's start-to-exit time as a user meets it: {@code kiln template list} run as a process
 * through the launcher (with its AOT cache, and without), beside curl making the same GET, the
 * floor of any process that asks the API one question. Runs are interleaved, so a change in the
 * host's load touches all three alike. See docs/adr/0008-cli-start-time.md.
 */
final class CliStart {
  private final Path launcher;
  private final String curl;
  private final String base;
  private final String key;
  private final BenchReport report;
  final Stats floor = new Stats("GET /v1/templates by curl, to exit (floor)", "ms");
  final Stats cli = new Stats("`kiln template list`, start to exit", "ms");
  final Stats uncached = new Stats("`kiln template list`, no AOT cache", "ms");

  private CliStart(Path launcher, String curl, String base, String key, BenchReport report) {
    this.report = report;
    this.launcher = launcher;
    this.curl = curl;
    this.base = base;
    this.key = key;
  }

  /** Empty, with the reason printed, when there is no launcher (the jar was started directly) or no curl. */
  static Optional<CliStart> of(String base, String key, BenchReport report) {
    return of(base, key, System.getenv(), report);
  }

  static Optional<CliStart> of(String base, String key, Map<String, String> env, BenchReport report) {
    String l = env.get("KILN_LAUNCHER");
    Optional<String> curl = onPath("curl", env.getOrDefault("PATH", "/usr/bin:/bin"));
    if (l == null || !Files.isExecutable(Path.of(l))) {
      report.note("cli start lines skipped: run the bench through the kiln launcher (./kiln bench), which the CLI starts through");
      return Optional.empty();
    }
    if (curl.isEmpty()) {
      report.note("cli start lines skipped: no curl on PATH for the floor");
      return Optional.empty();
    }
    return Optional.of(new CliStart(Path.of(l), curl.get(), base, key, report));
  }

  private static Optional<String> onPath(String tool, String path) {
    for (String dir : path.split(File.pathSeparator)) {
      Path p = Path.of(dir, tool);
      if (Files.isExecutable(p)) return Optional.of(p.toString());
    }
    return Optional.empty();
  }

  /** One warm-up each (it also makes the AOT cache if the jar is new), then {@code n} interleaved runs of each. */
  void measure(int n) throws Exception {
    List<String> list = List.of(launcher.toString(), "template", "list");
    List<String> get = List.of(curl, "-sf", "-o", "/dev/null", "-H", "Authorization: Bearer " + key, base + "/v1/templates");
    run(list, Map.of("KILN_CLI_AOT", "wait"));
    run(get, Map.of());
    for (int i = 0; i < n; i++) {
      floor.add(run(get, Map.of()));
      cli.add(run(list, Map.of()));
      uncached.add(run(list, Map.of("KILN_CLI_AOT", "off")));
    }
  }

  void print() {
    report.line(floor);
    report.line(cli);
    report.line(uncached);
    report.note(String.format("ratios: kiln template list/curl %.1fx (+%.0f ms), without/with the AOT cache %.2f", cli.median() / floor.median(),
        cli.median() - floor.median(), uncached.median() / cli.median()));
  }

  /** Milliseconds from start to exit; a run that fails fails the bench with its output. */
  private double run(List<String> argv, Map<String, String> env) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(argv)).redirectErrorStream(true);
    pb.environment().put("KILN_URL", base);
    pb.environment().put("KILN_API_KEY", key);
    pb.environment().putAll(env);
    long t0 = System.nanoTime();
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    int code = p.waitFor();
    double ms = (System.nanoTime() - t0) / 1e6;
    if (code != 0) throw new IllegalStateException(String.join(" ", argv) + " exited " + code + ": " + new String(out, StandardCharsets.UTF_8));
    return ms;
  }
}
