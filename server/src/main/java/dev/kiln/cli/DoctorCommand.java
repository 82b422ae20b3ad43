package dev.kiln.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "doctor", description = "Check this host for what Kiln needs (KVM, QEMU, cgroups, network tools, data directory, VM uids) and say how to fix what is missing.",
    footer = {"", "Examples:", "  kiln doctor", "  kiln doctor --data-dir /var/lib/kiln"})
final class DoctorCommand implements Callable<Integer> {
  @Option(names = "--config", description = "the daemon's JSON config file, whose data directory, QEMU and vmm keys are checked")
  Path config;

  @Option(names = "--data-dir", description = "the data directory to check (default: the config's, else /var/lib/kiln)")
  Path dataDir;

  @Override
  public Integer call() throws Exception {
    return new DoctorRun(config, dataDir).call();
  }
}
