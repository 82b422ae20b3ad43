package dev.kiln.sdk;

import dev.kiln.config.KilnConfig;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.TemplateSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import java.util.UUID;

/** A real Kiln daemon in this JVM, with a busybox template, for the SDK's tests and examples. */
final class LocalDaemon implements AutoCloseable {
  static final String TEMPLATE = "busybox";
  private static final Path ARTIFACTS = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize().resolve("build/guest/current");
  private final Path dir;
  private final KilnDaemon daemon;
  final Kiln kiln;

  LocalDaemon() throws Exception {
    if (!Files.exists(ARTIFACTS.resolve("manifest.json"))) {
      throw new IllegalStateException("guest artifacts missing at " + ARTIFACTS + ": run scripts/build-guest.sh (the README's test command does)");
    }
    // o+x: QEMU runs as the unprivileged kiln-vmm user and must traverse into the data directory.
    dir = Files.createTempDirectory(Path.of("/tmp"), "ks", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    String key = "sdk-" + UUID.randomUUID();
    daemon = new KilnDaemon(KilnConfig.defaults().withDataDir(dir.resolve("data")).withListen("127.0.0.1:0").withGuestArtifacts(ARTIFACTS)
        .withNetwork(dev.kiln.config.NetworkConfig.disabled())
        .withTemplateSnapshots(false), Optional.of(key));
    daemon.start();
    BusyboxRootfs.create(dir.resolve("rootfs"));
    daemon.templates().build(TEMPLATE, new TemplateSource.Directory(dir.resolve("rootfs")), 256, java.util.Optional.empty());
    kiln = new Kiln("http://127.0.0.1:" + daemon.port(), key);
  }

  @Override
  public void close() throws Exception {
    try {
      daemon.sandboxes().deleteAll();
      daemon.close();
    } finally {
      AtomicFiles.deleteTree(dir);
    }
  }
}
