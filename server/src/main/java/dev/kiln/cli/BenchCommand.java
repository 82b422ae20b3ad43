package dev.kiln.cli;

import dev.kiln.bench.Bench;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.GuestArtifacts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "bench", description = "Measure boot, create, exec and file paths against their raw floor (medians).")
final class BenchCommand implements Callable<Integer> {
  @Option(names = "--rounds", defaultValue = "5", description = "VM boots per measured path (default ${DEFAULT-VALUE}); exec rounds are 6x this")
  int rounds;
  @Option(names = "--file-mib", defaultValue = "32", description = "size of the file moved each way (default ${DEFAULT-VALUE})")
  int fileMib;
  @Option(names = "--guest-artifacts", defaultValue = "${sys:kiln.root:-.}/build/guest/current", description = "guest kernel+initramfs directory (default: build/guest/current of this installation)")
  Path artifacts;

  @Override
  public Integer call() throws Exception {
    // A short path under /tmp (Unix socket paths are limited to 107 bytes), traversable by the VMM user.
    Path work = Files.createTempDirectory(Path.of("/tmp"), "kb", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    try {
      new Bench(work, GuestArtifacts.load(artifacts), rounds, fileMib).run();
    } finally {
      AtomicFiles.deleteTree(work);
    }
    return 0;
  }
}
