package dev.kiln.cli;

import dev.kiln.config.KilnConfig;
import dev.kiln.doctor.Finding;
import dev.kiln.doctor.HostDoctor;
import java.nio.file.Path;
import java.util.List;

/**
 * What {@code kiln doctor} does, apart from its command class: picocli reads every method of a
 * command to build the CLI's model, so the config and doctor classes stay out of every CLI start
 * (docs/adr/0008-cli-start-time.md).
 */
final class DoctorRun {
  private final Path config;
  private final Path dataDir;

  DoctorRun(Path config, Path dataDir) {
    this.config = config;
    this.dataDir = dataDir;
  }

  int call() {
    KilnConfig c = config == null ? KilnConfig.defaults() : KilnConfig.load(config);
    Path data = dataDir != null ? dataDir : c.dataDir();
    List<Finding> findings = new HostDoctor(Path.of("/"), data, c.qemuBinary(), c.vmm().uids(), c.vmm().group(), c.guestArtifacts()).examine();
    int width = findings.stream().mapToInt(f -> f.check().length()).max().orElse(10);
    long warnings = 0;
    long failures = 0;
    for (Finding f : findings) {
      System.out.printf("%s  %-" + width + "s  %s%n", f.status().label(), f.check(), f.found());
      if (!f.fix().isEmpty()) System.out.printf("      %-" + width + "s  fix: %s%n", "", f.fix());
      if (f.status() == Finding.Status.WARN) warnings++;
      if (f.status() == Finding.Status.FAIL) failures++;
    }
    System.out.printf("%d checks: %d ok, %d to improve, %d to fix before the daemon can run here%n", findings.size(), findings.size() - warnings - failures,
        warnings, failures);
    return failures > 0 ? 1 : 0;
  }
}
