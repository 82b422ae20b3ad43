package dev.kiln.cli;

import dev.kiln.config.KilnConfig;
import dev.kiln.daemon.KilnDaemon;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "daemon", description = "Run the Kiln daemon (kilnd) in the foreground.")
final class DaemonCommand implements Callable<Integer> {
  @Option(names = "--config", description = "JSON config file (unknown keys are errors)")
  Path config;

  @Option(names = "--data-dir", description = "state directory (default /var/lib/kiln)")
  Path dataDir;

  @Option(names = "--listen", description = "HOST:PORT to serve the API on (default 127.0.0.1:7788)")
  String listen;

  @Option(names = "--guest-artifacts", description = "guest kernel+initramfs directory (default build/guest/current)")
  Path guestArtifacts;

  @Option(names = "--dev", description = "generate and print an API key at first start")
  boolean dev;

  @Override
  public Integer call() throws Exception {
    KilnConfig c = config != null ? KilnConfig.load(config) : KilnConfig.defaults();
    if (dataDir != null) c = c.withDataDir(dataDir);
    if (listen != null) c = c.withListen(listen);
    if (guestArtifacts != null) c = c.withGuestArtifacts(guestArtifacts);
    if (dev) c = c.withDevMode(true);
    KilnDaemon d = new KilnDaemon(c, Optional.ofNullable(System.getenv("KILN_API_KEY")));
    d.start();
    // The hook holds it as an AutoCloseable: a lambda taking a KilnDaemon would put the daemon's
    // class in a method signature that picocli's reflection loads on every CLI start.
    AutoCloseable daemon = d;
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        daemon.close();
      } catch (Exception e) {
        System.err.println("kiln daemon: error while stopping: " + e);
      }
      stop.countDown();
    }));
    stop.await();
    return 0;
  }
}
