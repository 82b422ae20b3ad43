package dev.kiln.cli;

import dev.kiln.config.KilnConfig;
import dev.kiln.daemon.DaemonStartException;
import dev.kiln.daemon.KilnDaemon;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "daemon", description = "Run the Kiln daemon (kilnd) in the foreground.")
final class DaemonCommand implements Callable<Integer> {
  /** The daemon refused to start (its data directory or network prefix is taken, an address is in use): the message says why. */
  static final int EXIT_CANNOT_START = 1;

  @Option(names = "--config", description = "JSON config file (unknown keys are errors)")
  Path config;

  @Option(names = "--data-dir", description = "state directory (default /var/lib/kiln)")
  Path dataDir;

  @Option(names = "--listen", description = "HOST:PORT to serve the API on (default 127.0.0.1:7788)")
  String listen;

  @Option(names = "--guest-artifacts", description = "guest kernel+initramfs directory (default: build/guest/current of this installation)")
  Path guestArtifacts;

  @Option(names = "--dev", description = "generate and print an API key at first start")
  boolean dev;

  @Override
  public Integer call() throws Exception {
    KilnDaemon d;
    try {
      d = new KilnDaemon(config(), Optional.ofNullable(System.getenv("KILN_API_KEY")));
    } catch (DaemonStartException e) {
      throw new UserError(e.getMessage(), EXIT_CANNOT_START);
    }
    CountDownLatch stop = new CountDownLatch(1);
    // From here on SIGTERM (or ^C) stops the daemon in order: its host table and listeners go, its sandboxes run on.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        d.close();
      } catch (Exception e) {
        System.err.println("kiln daemon: error while stopping: " + ErrorReport.of(e, java.util.Map.of()).message());
      }
      stop.countDown();
    }));
    try {
      d.start();
    } catch (DaemonStartException e) {
      throw new UserError(e.getMessage(), EXIT_CANNOT_START); // System.exit runs the hook, which closes what did start
    }
    stop.await();
    return 0;
  }

  /** The config file with the options over it; a bad file or value is the user's to fix, said as such. */
  private KilnConfig config() {
    try {
      KilnConfig c = config != null ? KilnConfig.load(config) : KilnConfig.defaults();
      if (dataDir != null) c = c.withDataDir(dataDir);
      if (listen != null) c = c.withListen(listen);
      if (guestArtifacts != null) c = c.withGuestArtifacts(guestArtifacts);
      if (dev) c = c.withDevMode(true);
      return c;
    } catch (dev.kiln.config.ConfigException e) {
      throw new UserError(e.getMessage(), KilnCli.EXIT_USAGE);
    } catch (IllegalArgumentException e) {
      throw new UserError("invalid option: " + ErrorReport.clean(String.valueOf(e.getMessage())), KilnCli.EXIT_USAGE);
    }
  }
}
