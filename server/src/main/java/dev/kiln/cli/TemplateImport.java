package dev.kiln.cli;

import dev.kiln.config.KilnConfig;
import dev.kiln.image.TemplateService;
import dev.kiln.image.TemplateSource;
import dev.kiln.image.oci.BlobStore;
import dev.kiln.image.oci.DockerConfig;
import dev.kiln.image.oci.ImagePuller;
import dev.kiln.image.oci.RegistryClient;
import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.vmm.Machine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;

/**
 * {@code kiln template import}: a template built straight into a data directory, no daemon. Apart
 * from its command class so that the daemon's image and store code is linked only when this runs:
 * picocli links every command class it models, and linking verifies the method bodies.
 */
final class TemplateImport {
  private TemplateImport() {}

  static int run(String name, Path dir, String image, long freeMib, String machine, Path dataDir) throws Exception {
    Path data = dataDir != null ? dataDir : KilnConfig.defaults().dataDir();
    Files.createDirectories(data);
    TemplateSource source = dir != null ? new TemplateSource.Directory(dir.toAbsolutePath()) : TemplateSource.parse(image, Optional.empty());
    try (Database db = Database.open(data.resolve("kiln.db"))) {
      var service = new TemplateService(data, new TemplateRepository(db), new ImagePuller(new RegistryClient(Set.of()), new BlobStore(data), DockerConfig.standard()));
      var t = service.build(name, source, freeMib, Optional.ofNullable(machine).map(Machine::fromWire));
      System.out.println("template " + t.name() + " ready: " + t.rootfs().orElseThrow() + " (" + (t.rootfsBytes().getAsLong() >> 20) + " MiB)");
    }
    return 0;
  }
}
