package dev.kiln.cli;

import dev.kiln.config.ConfigException;
import dev.kiln.config.KilnConfig;
import dev.kiln.daemon.DaemonStartException;
import dev.kiln.config.ClusterConfig;
import dev.kiln.daemon.ControlDaemon;
import dev.kiln.daemon.Daemon;
import dev.kiln.daemon.KilnDaemon;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/** {@code kiln daemon}: the config from its file and options, the daemon started, and stopped in order at SIGTERM. */
final class DaemonRun {
  private final DaemonCommand options;

  DaemonRun(DaemonCommand options) {
    this.options = options;
  }

  int call() throws Exception {
    KilnConfig config = config();
    Optional<String> adminKey = Optional.ofNullable(System.getenv("KILN_API_KEY"));
    Daemon d;
    try {
      d = config.cluster().role() == ClusterConfig.Role.CONTROL ? new ControlDaemon(config, adminKey) : new KilnDaemon(config, adminKey);
    } catch (DaemonStartException e) {
      throw new UserError(e.getMessage(), DaemonCommand.EXIT_CANNOT_START);
    }
    CountDownLatch stop = new CountDownLatch(1);
    // From here on SIGTERM (or ^C) stops the daemon in order: its host table and listeners go, its sandboxes run on.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        d.close();
      } catch (Exception e) {
        System.err.println("kiln daemon: error while stopping: " + ErrorReport.of(e, Map.of()).message());
      }
      stop.countDown();
    }));
    try {
      d.start();
    } catch (DaemonStartException e) {
      throw new UserError(e.getMessage(), DaemonCommand.EXIT_CANNOT_START); // System.exit runs the hook, which closes what did start
    }
    stop.await();
    return 0;
  }

  private static ClusterConfig.Role role(String flag) {
    for (ClusterConfig.Role r : ClusterConfig.Role.values()) {
      if (r.flag().equals(flag)) return r;
    }
    throw new UserError("invalid value for --role: '" + flag + "' (combined, control or node)", KilnCli.EXIT_USAGE);
  }

  /** The config file with the options over it; a bad file or value is the user's to fix, said as such. */
  KilnConfig config() {
    try {
      KilnConfig c = options.config != null ? KilnConfig.load(options.config) : KilnConfig.defaults();
      if (options.dataDir != null) c = c.withDataDir(options.dataDir);
      if (options.listen != null) c = c.withListen(options.listen);
      if (options.guestArtifacts != null) c = c.withGuestArtifacts(options.guestArtifacts);
      if (options.dev) c = c.withDevMode(true);
      if (options.role != null) c = c.withCluster(c.cluster().withRole(role(options.role)));
      return c;
    } catch (ConfigException e) {
      throw new UserError(e.getMessage(), KilnCli.EXIT_USAGE);
    } catch (IllegalArgumentException e) {
      throw new UserError("invalid option: " + ErrorReport.clean(String.valueOf(e.getMessage())), KilnCli.EXIT_USAGE);
    }
  }
}
