package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.kiln.config.KilnConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine;

/**
 * A {@code kiln daemon …} command line written in a deployment file (deploy/), read by the CLI's
 * own command model, so that a flag the daemon does not have fails here as it would at start; and
 * its config, read by the daemon's own code ({@link DaemonRun}: the file, then the flags over it,
 * {@code --role} among them) from the file the deployment puts at the {@code --config} path.
 */
record DaemonInvocation(List<String> argv, Path configPath, DaemonCommand options) {
  static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  static final Path DEPLOY = REPO.resolve("deploy");
  /** The launcher (the repository's {@code kiln}) where the deployments install it. */
  static final String LAUNCHER = "/opt/kiln/kiln";
  private static final Pattern GETENV = Pattern.compile("getenv\\(\"([A-Za-z0-9_]+)\"\\)");
  /**
   * What the AWS SDK's default credentials chain reads from the environment; the object store
   * uses that chain when {@code objectStore.credentialsFile} is unset (ObjectStores.credentials).
   */
  private static final List<String> AWS_CHAIN = List.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN");

  static DaemonInvocation parse(List<String> argv, String where) {
    if (argv.size() < 2 || !argv.get(0).equals(LAUNCHER) || !argv.get(1).equals("daemon")) {
      fail(where + " should run `" + LAUNCHER + " daemon …`, runs " + argv);
    }
    CommandLine.ParseResult parsed;
    try {
      parsed = KilnCli.commandLine().parseArgs(argv.subList(1, argv.size()).toArray(String[]::new));
    } catch (CommandLine.ParameterException e) {
      throw new AssertionError(where + ": `kiln daemon` refuses " + argv.subList(1, argv.size()) + ": " + e.getMessage(), e);
    }
    DaemonCommand options = (DaemonCommand) parsed.subcommand().commandSpec().userObject();
    assertNotNull(options.config, where + " should give the daemon its config file (--config)");
    return new DaemonInvocation(List.copyOf(argv), options.config, options);
  }

  /** The config the daemon would run with, its file read from {@code file} (the repository's copy of what sits at {@link #configPath}). */
  KilnConfig config(Path file) {
    options.config = file;
    try {
      return new DaemonRun(options).config();
    } catch (UserError e) {
      throw new AssertionError("the daemon refuses `" + String.join(" ", argv.subList(1, argv.size())) + "` with the config at " + configPath + " (here "
          + file + "): " + e.getMessage(), e);
    } finally {
      options.config = configPath;
    }
  }

  /**
   * The config of a daemon of {@code role}, which both the command line (--role, checked by the
   * daemon's own reading of it) and the file say: a flag and a file that disagree make a deployment
   * that does not say what it runs.
   */
  KilnConfig configInRole(Path file, String role, String where) {
    KilnConfig c = config(file);
    assertEquals(role, options.role, where + ": --role");
    assertEquals(role, c.cluster().role().flag(), where + ": the role of the daemon with its config " + configPath + " (cluster.role, --role)");
    assertEquals(role, KilnConfig.load(file).cluster().role().flag(), where + ": cluster.role in its config " + configPath);
    return c;
  }

  /**
   * The roles' configs make one cluster: one PostgreSQL database, and one proxy domain, since a
   * control relays a port request to the node's proxy with its Host as it came, and the node
   * routes it by that name again.
   */
  static void assertOneCluster(Map<String, KilnConfig> byRole, String where) {
    KilnConfig control = byRole.get("control");
    for (KilnConfig c : byRole.values()) {
      assertTrue(c.database().postgresql(), where + ": every role keeps its state in the shared PostgreSQL database");
      assertEquals(control.database().url(), c.database().url(), where + ": database.url of " + c.cluster().role().flag());
      assertEquals(control.database().user(), c.database().user(), where + ": database.user of " + c.cluster().role().flag());
      assertEquals(control.network().proxyDomain(), c.network().proxyDomain(), where + ": network.proxyDomain of " + c.cluster().role().flag());
    }
  }

  /**
   * The environment variables the daemon's code reads: each {@code System.getenv("…")} under
   * server/src/main/java, and the AWS SDK chain's where the object store falls back to it.
   */
  static Set<String> environmentRead() {
    Set<String> names = new TreeSet<>();
    Path main = REPO.resolve("server/src/main/java");
    try (Stream<Path> files = Files.walk(main)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
        String src = Files.readString(f);
        Matcher m = GETENV.matcher(src);
        while (m.find()) names.add(m.group(1));
        if (src.contains("DefaultCredentialsProvider.builder()")) names.addAll(AWS_CHAIN);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return names;
  }

  static int port(String hostPort) {
    return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
  }

  static String host(String hostPort) {
    return hostPort.substring(0, hostPort.lastIndexOf(':'));
  }
}
