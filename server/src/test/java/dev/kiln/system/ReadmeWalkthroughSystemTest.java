package dev.kiln.system;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.fixtures.ImageSpec;
import dev.kiln.fixtures.LocalRegistry;
import dev.kiln.fixtures.TestImages;
import dev.kiln.fixtures.TestRootfs;
import dev.kiln.host.AtomicFiles;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import picocli.CommandLine;
import dev.kiln.cli.KilnCli;

/**
 * README.md typed as written: its daemon line as a real process through the {@code kiln}
 * launcher, then every other command line of its shell blocks, in order, in one bash (so {@code
 * id=$(…)} carries from line to line), each checked for its exit status and, where the README
 * promises something, its output.
 *
 * <p>What differs from a user's machine, and only that, is replaced in the text: the data
 * directory, the API and proxy ports and the network prefix (so this daemon cannot collide with
 * another on the host), the placeholders the README leaves to the reader ({@code /path/to/rootfs},
 * {@code oci:/path/layout:tag}), {@code python:3.12-slim}, which comes from a registry on
 * loopback (this machine reaches no public registry), and the relative {@code e2b-tests}, since the
 * lines run in the module's directory. {@code ./kiln shell} gets a terminal from
 * script(1) and types {@code exit}. The CLI runs the classes under test (KILN_CLASSPATH).
 *
 * <p>It runs beside the other classes (junit-platform.properties), its tests one after another: its
 * daemons are processes with data directories, ports, prefixes and pools no other class uses, and
 * nothing in it is timed.
 */
@Tag("system")
@Execution(ExecutionMode.CONCURRENT)
class ReadmeWalkthroughSystemTest {
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  private static final Path BASE_ROOTFS = REPO.resolve("build/rootfs/base");
  private static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|jdk|dev\\.kiln|com\\.fasterxml|org\\.eclipse|picocli)\\.[a-z]\\w*\\.|\\b[A-Z]\\w*Exception\\b");
  /** What the README promises a line prints, by a piece of the line. */
  private static final Map<String, String> PROMISED = Map.ofEntries(
      Map.entry("print(sys.version)", "3."),
      Map.entry("print(6*7)", "42"),
      Map.entry("uname -a", "Linux"),
      Map.entry("template list", "base"),
      Map.entry("shell $id", "shell-ok"),
      Map.entry(" -it ", "shell-ok"),
      Map.entry("exit 3\"}'", "\"exitCode\":3"),
      Map.entry("ports/8080/", "Directory listing"),
      Map.entry("?kiln_token=$token", "Directory listing"),
      Map.entry("examples/agent.mjs", "42\nhello from E2B code"),
      Map.entry("kiln bench --rounds", "Kiln against its floor"),
      Map.entry("kiln bench --density", "sandboxes running at once"));

  private static Path work;
  private static Path data;
  private static LocalRegistry registry;
  private static Path layout;
  private static Process daemon;
  private static int apiPort;
  private static int proxyPort;
  private static String daemonLine;

  @BeforeAll
  static void up() throws Exception {
    work = Files.createTempDirectory(Path.of("/tmp"), "krw", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    data = work.resolve("data");
    // The README's `base` is this Debian. The installer builds it unless --without-base-template (as CI runs it); the script reuses a current tree.
    run(List.of(REPO.resolve("scripts/build-base-rootfs.sh").toString(), BASE_ROOTFS.toString()), Duration.ofMinutes(10));
    registry = LocalRegistry.start(work.resolve("registry"));
    Path busybox = TestRootfs.busybox(work.resolve("rootfs"));
    layout = TestImages.layout(work, "tag", List.of(busybox), ImageSpec.NONE);
    TestImages.push(layout, "tag", registry, "python:3.12-slim", Optional.empty(), TestImages.Compression.GZIP);
    apiPort = freePort();
    proxyPort = freePort();
    run(List.of(REPO.resolve("kiln").toString(), "template", "import", "base", "--dir", BASE_ROOTFS.toString(), "--data-dir", data.toString()),
        Duration.ofMinutes(5));
    daemonLine = readme().stream().filter(c -> c.startsWith("./kiln daemon ")).findFirst().orElseThrow();
    startDaemon(substitute(daemonLine));
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (daemon != null) {
        try {
          deleteEverySandbox();
        } finally {
          daemon.destroy();
          if (!daemon.waitFor(60, TimeUnit.SECONDS)) daemon.destroyForcibly().waitFor();
        }
      }
    } finally {
      try {
        if (registry != null) registry.close();
      } finally {
        if (work != null) AtomicFiles.deleteTree(work);
      }
    }
  }

  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void everyCommandInTheReadmeWorksAsWritten() throws Exception {
    List<String> rest = readme().stream().filter(c -> !c.equals(daemonLine) && !c.startsWith("scripts/")).toList();
    assertTrue(rest.size() >= 40, "README commands found: " + rest.size());
    typed("readme", rest, "");
  }

  /**
   * The examples every `kiln … --help` shows, as real processes: {@code sb-abc} is a networked
   * sandbox of `base` (with a checkpoint `clean`, which `sandbox fork` shows before `checkpoint`
   * shows how to make one), {@code sb-q35} one on the q35 machine; the placeholders are those of
   * the README.
   */
  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void everyHelpExampleWorks() throws Exception {
    List<String> examples = new ArrayList<>();
    for (CommandLine c : helpTree(KilnCli.commandLine())) {
      for (String line : c.getCommandSpec().usageMessage().footer()) {
        String example = line.strip().replaceAll("\\s+\\(.*\\)$", "");
        if (example.startsWith("kiln ") || example.contains("| kiln ")) examples.add(example.replace("kiln ", "./kiln "));
      }
    }
    assertTrue(examples.size() >= 20, "examples found: " + examples.size());
    String setup = "sbabc=$(./kiln sandbox create --template base --network internet)\n./kiln checkpoint create $sbabc clean >/dev/null\n"
        + "sbq35=$(./kiln sandbox create --template base --machine q35)\nkeyabc=$(./kiln key create examples -o field=id)\n";
    List<String> lines = new ArrayList<>(examples.stream()
        .map(e -> e.replace("sb-abc", "$sbabc").replace("sb-q35", "$sbq35").replace("5f0c1e9a-3b7d-4c2e-9a61-0d8e4b7f2c13", "$keyabc")).toList());
    lines.add("./kiln pool rm base");
    lines.add("./kiln sandbox rm $(./kiln sandbox list -o field=id)");
    typed("help", lines, setup);
  }

  /**
   * The README's first command after the install: scripts/demo.sh, with a data directory, port and
   * network prefix of its own (its daemon runs beside this class's).
   */
  @Test
  @Execution(ExecutionMode.SAME_THREAD)
  void theDemoPrintsFortyTwo() throws Exception {
    Path config = work.resolve("demo.json");
    Files.writeString(config, """
        {"network": {"addressPool": "10.239.0.0/24", "prefix": "krd", "dnsPort": 7959, "proxyListen": "127.0.0.1:%d",
                     "dnsUpstreams": ["127.0.0.1:1"], "prewarmed": 0}}
        """.formatted(freePort()));
    ProcessBuilder pb = new ProcessBuilder(REPO.resolve("scripts/demo.sh").toString()).redirectErrorStream(true);
    pb.environment().put("KILN_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().put("KILN_DATA_DIR", work.resolve("demo-data").toString());
    pb.environment().put("KILN_DEMO_PORT", Integer.toString(freePort()));
    pb.environment().put("KILN_DEMO_CONFIG", config.toString());
    pb.environment().remove("KILN_API_KEY");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(10, TimeUnit.MINUTES));
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.lines().anyMatch(l -> l.strip().equals("42")), out);
    assertFalse(JAVA_NAME.matcher(out).find(), "a Java name reached the user:\n" + out);
    // demo.sh stops its daemon while `base` may still be being snapshotted: nothing of that may outlive it.
    String dataDir = work.resolve("demo-data").toString();
    List<String> qemus = ProcessHandle.allProcesses().map(h -> h.info().arguments().map(a -> String.join(" ", a)).orElse(""))
        .filter(a -> a.contains(dataDir)).toList();
    assertEquals(List.of(), qemus, "processes of the demo's data directory left running after its daemon stopped");
    Process netns = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
    String namespaces = new String(netns.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(netns.waitFor(10, TimeUnit.SECONDS));
    assertFalse(namespaces.contains("krd-"), "the demo daemon's namespaces outlived it: " + namespaces);
  }

  private static List<CommandLine> helpTree(CommandLine c) {
    List<CommandLine> out = new ArrayList<>(List.of(c));
    c.getSubcommands().values().stream().distinct().forEach(sub -> out.addAll(helpTree(sub)));
    return out.stream().distinct().toList();
  }

  /** Types the lines into one bash (after {@code setup}, with KILN_URL and KILN_API_KEY exported) and checks each one's exit and promise. */
  private static void typed(String name, List<String> lines, String setup) throws Exception {
    StringBuilder script = new StringBuilder("cd " + work.resolve("cwd-" + name) + "\n");
    Files.createDirectories(work.resolve("cwd-" + name));
    if (!setup.isEmpty()) {
      script.append("export KILN_URL=http://127.0.0.1:").append(apiPort).append(" KILN_API_KEY=$(cat ").append(data.resolve("dev-api-key")).append(")\n")
          .append(substitute(setup)).append("\n");
    }
    for (int i = 0; i < lines.size(); i++) {
      script.append("printf '\\n::line ").append(i).append("\\n'\nline_started_ns=$(date +%s%N)\n").append(substitute(lines.get(i))).append("\n")
          .append("line_status=$?; printf '\\n::exit ").append(i).append(" %d %d\\n' $line_status $(( ($(date +%s%N) - line_started_ns) / 1000000 ))\n");
    }
    Path file = work.resolve(name + ".sh");
    Files.writeString(file, script);
    ProcessBuilder pb = new ProcessBuilder("bash", file.toString()).redirectErrorStream(true);
    pb.environment().put("KILN_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().remove("KILN_URL");
    pb.environment().remove("KILN_API_KEY");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(20, TimeUnit.MINUTES));

    Map<Integer, String> outputs = new LinkedHashMap<>();
    Map<Integer, Integer> exits = new LinkedHashMap<>();
    Map<Integer, Long> millis = new LinkedHashMap<>();
    Matcher m = Pattern.compile("(?s)::line (\\d+)\\n(.*?)\\n::exit \\1 (\\d+) (\\d+)\\n").matcher(out);
    while (m.find()) {
      outputs.put(Integer.parseInt(m.group(1)), m.group(2));
      exits.put(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(3)));
      millis.put(Integer.parseInt(m.group(1)), Long.parseLong(m.group(4)));
    }
    // Where the suite's time goes: the slowest lines, in the class's output (not asserted).
    millis.entrySet().stream().sorted(Map.Entry.<Integer, Long>comparingByValue().reversed()).limit(12)
        .forEach(e -> System.out.printf("%s: %,d ms  %s%n", name, e.getValue(), lines.get(e.getKey())));
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (!exits.containsKey(i)) {
        failures.add("never ran: " + line);
        continue;
      }
      if (exits.get(i) != 0) failures.add("exit " + exits.get(i) + ": " + line + "\n" + outputs.get(i));
      for (Map.Entry<String, String> promise : PROMISED.entrySet()) {
        if (line.contains(promise.getKey()) && !outputs.get(i).contains(promise.getValue())) {
          failures.add("expected '" + promise.getValue() + "' from: " + line + "\n" + outputs.get(i));
        }
      }
    }
    assertEquals(List.of(), failures, "the whole transcript:\n" + out);
    assertFalse(JAVA_NAME.matcher(out).find(), "a Java name reached the user:\n" + out);
  }

  private static List<String> readme() throws java.io.IOException {
    return commands(Files.readString(REPO.resolve("README.md")));
  }

  /** The command lines of README.md's sh blocks, continuation lines (an open quote) joined. */
  static List<String> commands(String readme) {
    List<String> out = new ArrayList<>();
    Matcher block = Pattern.compile("(?s)```sh\\n(.*?)```").matcher(readme);
    while (block.find()) {
      StringBuilder pending = new StringBuilder();
      for (String line : block.group(1).split("\n")) {
        if (pending.isEmpty() && (line.isBlank() || line.startsWith("#"))) continue;
        if (!pending.isEmpty()) pending.append('\n');
        pending.append(line);
        if (!openQuote(pending.toString())) {
          out.add(pending.toString().strip());
          pending.setLength(0);
        }
      }
    }
    return out;
  }

  private static boolean openQuote(String s) {
    char quote = 0;
    for (char c : s.toCharArray()) {
      if (quote == 0 && c == '#') return false;
      if (quote == 0 && (c == '\'' || c == '"')) quote = c;
      else if (c == quote) quote = 0;
    }
    return quote != 0;
  }

  private static String substitute(String line) {
    String kiln = REPO.resolve("kiln").toString();
    // An import goes to a data directory of its own: the running daemon's is not the importer's to write.
    String s = (line.contains(" template import ") ? line.replace("--data-dir /var/lib/kiln", "--data-dir " + work.resolve("imported")) : line)
        .replace("build/rootfs/base", BASE_ROOTFS.toString())
        .replace("/var/lib/kiln", data.toString())
        .replace("127.0.0.1:7788", "127.0.0.1:" + apiPort)
        .replace("127.0.0.1:7789", "127.0.0.1:" + proxyPort)
        .replace("python:3.12-slim", registry.hostPort() + "/python:3.12-slim")
        .replace("oci:/path/layout:tag", "oci:" + layout + ":tag")
        .replace("/path/to/rootfs", work.resolve("rootfs").toString())
        .replace("examples/web/", REPO.resolve("examples/web") + "/")
        .replace("(cd e2b-tests", "(cd " + REPO.resolve("e2b-tests"))
        .replace("./kiln", kiln);
    if (s.startsWith(kiln + " shell ") || s.contains(" -it ")) {
      // A person at a terminal: script(1) gives the CLI one, and the keys come from here.
      return "printf 'echo shell-ok; exit\\n' | script -qec \"" + s.replaceAll("\\s+#.*$", "") + "\" /dev/null";
    }
    return s;
  }

  private static void startDaemon(String line) throws Exception {
    try {
      launchDaemon(line);
    } catch (Throwable e) {
      throw new AssertionError("the README's daemon line did not bring up a daemon; its output:\n" + Files.readString(work.resolve("daemon.log")), e);
    }
  }

  private static void launchDaemon(String line) throws Exception {
    Path config = work.resolve("daemon.json");
    Files.writeString(config, """
        {"network": {"addressPool": "10.235.0.0/24", "prefix": "krw", "dnsPort": 7957, "proxyListen": "127.0.0.1:%d",
                     "dnsUpstreams": ["127.0.0.1:1"], "prewarmed": 1}}
        """.formatted(proxyPort));
    String command = line.replace(" &", " --config " + config + " --listen 127.0.0.1:" + apiPort).replaceAll("\\s+#.*$", "");
    ProcessBuilder pb = new ProcessBuilder("bash", "-c", "exec " + command).redirectErrorStream(true).redirectOutput(work.resolve("daemon.log").toFile());
    pb.environment().remove("KILN_API_KEY");
    pb.environment().put("KILN_CLASSPATH", System.getProperty("java.class.path"));
    daemon = pb.start();
    HttpClient http = HttpClient.newHttpClient();
    await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
        .failFast("the daemon exited", () -> !daemon.isAlive())
        .ignoreExceptionsInstanceOf(java.io.IOException.class).until(() -> {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/healthz")).build(), HttpResponse.BodyHandlers.discarding())
          .statusCode() == 200;
    });
    assertTrue(Files.readString(work.resolve("daemon.log")).contains("generated API key"), "--dev prints the key it generated");
  }

  /** The daemon leaves VMs running when it stops (the next start adopts them): the test's must go first. */
  private static void deleteEverySandbox() throws Exception {
    String key = Files.readString(data.resolve("dev-api-key")).strip();
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + apiPort;
    var list = TestHost.JSON.readTree(http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes")).header("Authorization", "Bearer " + key).build(),
        HttpResponse.BodyHandlers.ofString()).body());
    for (var sb : list.path("sandboxes")) {
      http.send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + sb.path("id").asText())).header("Authorization", "Bearer " + key).DELETE().build(),
          HttpResponse.BodyHandlers.discarding());
    }
    http.send(HttpRequest.newBuilder(URI.create(base + "/v1/pools/base")).header("Authorization", "Bearer " + key).DELETE().build(),
        HttpResponse.BodyHandlers.discarding());
  }

  private static void run(List<String> argv, Duration limit) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(argv).redirectErrorStream(true);
    pb.environment().put("KILN_CLASSPATH", System.getProperty("java.class.path"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(limit.toSeconds(), TimeUnit.SECONDS), String.join(" ", argv) + " took longer than " + limit);
    assertEquals(0, p.exitValue(), String.join(" ", argv) + ":\n" + out);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
