package dev.kiln.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The options of {@code kiln daemon}; {@link DaemonRun} does the work, so that parsing a CLI command loads no daemon class. */
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

  @Option(names = "--role", paramLabel = "combined|control|node",
      description = "combined (VMs and the public API, the default), control (public API, no VMs) or node (VMs, serving the control plane); needs a PostgreSQL database unless combined")
  String role;

  @Option(names = "--dev", description = "generate and print an API key at first start")
  boolean dev;

  @Override
  public Integer call() throws Exception {
    return new DaemonRun(this).call();
  }
}
