package dev.kiln.cli;

import dev.kiln.bench.Bench;
import dev.kiln.bench.DensityBench;
import dev.kiln.config.ConfigException;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.ObjectStoreConfig;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.GuestArtifacts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", description = "Measure boot, create, exec and file paths against their raw floor (medians, p90, p99), or how many idle sandboxes this host holds.",
    footer = {"", "Examples:", "  kiln bench --density 10"})
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--rounds", defaultValue = "5", description = "VM boots per measured path (default ${DEFAULT-VALUE}); exec rounds are 6x this")
  int rounds;
  @Option(names = "--file-mib", defaultValue = "32", description = "size of the file moved each way (default ${DEFAULT-VALUE})")
  int fileMib;
  @Option(names = "--json", description = "print one JSON document (every sample, percentile, ratio and goal) on standard output; the lines go to standard error")
  boolean json;
  @Option(names = "--density", paramLabel = "N", description = "instead: create up to N idle sandboxes from one snapshot and report memory and idle CPU per sandbox "
      + "and create times while they run (stops early, saying why, when a create fails or the host's memory runs low)")
  Integer density;
  @Option(names = "--guest-artifacts", defaultValue = "${sys:kiln.root:-.}/build/guest/current", description = "guest kernel+initramfs directory (default: build/guest/current of this installation)")
  Path artifacts;
  @Option(names = "--cluster-database", paramLabel = "URL", description = "PostgreSQL database (jdbc:postgresql://host:port/db) for the cluster lines, "
      + "which register a node and a control instance in it: give it one of its own (default: a throwaway server if PostgreSQL 15 is installed, else the lines are skipped)")
  String clusterDatabase;
  @Option(names = "--cluster-database-user", paramLabel = "USER", description = "the PostgreSQL user for --cluster-database")
  String clusterDatabaseUser;
  @Option(names = "--cluster-database-password-file", paramLabel = "FILE", description = "a file holding that user's password (default: none sent)")
  Path clusterDatabasePasswordFile;
  @Option(names = "--bucket-config", paramLabel = "FILE", description = "a kiln config file whose `objectStore` names the bucket the template pull is timed from "
      + "(default: a directory bucket in the bench's temp directory)")
  Path bucketConfig;

  @Override
  public Integer call() throws Exception {
    if (density != null && (density < 1 || density > 5000)) throw new UserError("--density must be 1..5000, got " + density, KilnCli.EXIT_USAGE);
    Bench.ClusterOptions cluster = ClusterOptionsOf.options(this);
    // A short path under /tmp (Unix socket paths are limited to 107 bytes), traversable by the VMM user.
    Path work = Files.createTempDirectory(Path.of("/tmp"), "kb", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    try {
      GuestArtifacts guest = GuestArtifacts.load(artifacts);
      if (density != null) new DensityBench(work, guest, density, json).run();
      else new Bench(work, guest, rounds, fileMib, cluster, json).run();
    } finally {
      AtomicFiles.deleteTree(work);
    }
    return 0;
  }

  /**
   * The cluster options checked before anything is measured: a mistake in them is a usage error,
   * not a failure after minutes. A class of its own: picocli reads every method of a command to
   * build the CLI's model, which would load the config and bench classes these name into every CLI
   * start (docs/adr/0008-cli-start-time.md; CliTrainingTest).
   */
  private static final class ClusterOptionsOf {
    private ClusterOptionsOf() {}

    static Bench.ClusterOptions options(BenchCommand c) {
      Optional<DatabaseConfig> database = Optional.empty();
      Optional<ObjectStoreConfig> bucket = Optional.empty();
      try {
        if (c.clusterDatabase != null || c.clusterDatabaseUser != null || c.clusterDatabasePasswordFile != null) {
          database = Optional.of(new DatabaseConfig(c.clusterDatabase, c.clusterDatabaseUser, c.clusterDatabasePasswordFile, 0));
        }
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage().replace("database.url", "--cluster-database").replace("database.user", "--cluster-database-user")
            .replace("database.passwordFile", "--cluster-database-password-file"), KilnCli.EXIT_USAGE);
      }
      if (c.bucketConfig != null) {
        ObjectStoreConfig o;
        try {
          o = KilnConfig.load(c.bucketConfig).objectStore();
        } catch (ConfigException e) {
          throw new UserError(e.getMessage(), KilnCli.EXIT_USAGE);
        }
        if (!o.enabled()) throw new UserError("--bucket-config " + c.bucketConfig + " names no bucket (objectStore.bucket)", KilnCli.EXIT_USAGE);
        bucket = Optional.of(o);
      }
      return new Bench.ClusterOptions(database, bucket);
    }
  }
}
