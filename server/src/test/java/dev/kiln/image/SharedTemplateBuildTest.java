package dev.kiln.image;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.ObjectKey;
import dev.kiln.blob.ObjectStore;
import dev.kiln.blob.ObjectStores;
import dev.kiln.error.KilnException;
import dev.kiln.fixtures.LocalS3;
import dev.kiln.image.oci.BlobStore;
import dev.kiln.image.oci.DockerConfig;
import dev.kiln.image.oci.ImagePuller;
import dev.kiln.image.oci.RegistryClient;
import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.vmm.DiskLayers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A template build on a node that shares artifacts: the image is in the bucket before the row names
 * it, and a bucket that refuses it fails the build with the store's words, leaving no row pointing
 * at an image other nodes cannot fetch. Real mkfs.ext4, SQLite and S3 server.
 */
@ExtendWith(LocalS3.Extension.class)
class SharedTemplateBuildTest {
  private static LocalS3 s3;
  @TempDir Path tmp;

  @BeforeAll
  static void server(LocalS3 server) {
    s3 = server;
  }

  @org.junit.jupiter.api.BeforeEach
  void dataDir() throws Exception {
    Files.createDirectories(tmp.resolve("data"));
  }

  private TemplateService service(Database db, Artifacts artifacts) {
    return new TemplateService(tmp.resolve("data"), new TemplateRepository(db),
        new ImagePuller(new RegistryClient(Set.of()), new BlobStore(tmp.resolve("data")), DockerConfig.standard()), artifacts);
  }

  @Test
  void theBuiltImageIsInTheBucketUnderItsArtifactId() throws Exception {
    String bucketName = s3.newBucket();
    Path rootfs = dev.kiln.fixtures.TestRootfs.busybox(tmp.resolve("rootfs"));
    try (ObjectStore bucket = ObjectStores.open(s3.config(bucketName)); Database db = Database.open(tmp.resolve("data/kiln.db"))) {
      TemplateService templates = service(db, new Artifacts(tmp.resolve("data"), bucket, 1L << 30));

      Template t = templates.build("t", new TemplateSource.Directory(rootfs), 8, Optional.empty());

      Path image = t.rootfs().orElseThrow();
      ObjectKey key = new ObjectKey("images/" + image.getParent().getFileName() + "/rootfs.ext4");
      assertEquals(List.of(key), bucket.listAll("images/"));
      assertEquals(Files.size(image), bucket.head(key).orElseThrow().size());
      assertTrue(Files.readString(templates.buildLogFile("t")).contains("upload_ms="));
    }
  }

  @Test
  void aBucketThatRefusesTheImageFailsTheBuildAndNothingNamesIt() throws Exception {
    Path rootfs = dev.kiln.fixtures.TestRootfs.busybox(tmp.resolve("rootfs"));
    // A bucket that does not exist: every put is refused.
    try (ObjectStore bucket = ObjectStores.open(s3.config("kiln-test-no-such-bucket")); Database db = Database.open(tmp.resolve("data/kiln.db"))) {
      Artifacts artifacts = new Artifacts(tmp.resolve("data"), bucket, 1L << 30);
      TemplateService templates = service(db, artifacts);

      KilnException e = assertThrows(KilnException.class, () -> templates.build("t", new TemplateSource.Directory(rootfs), 8, Optional.empty()));

      assertTrue(e.getMessage().contains("in the object store failed") && e.getMessage().contains("kiln-test-no-such-bucket")
          && e.getMessage().contains("does not exist"), e.getMessage());
      Template t = templates.find("t").orElseThrow();
      assertEquals(Template.Status.FAILED, t.status());
      assertFalse(t.rootfs().isPresent());
      // The image built is named by nothing: the next collection removes it.
      Set<Path> roots = new HashSet<>();
      for (Template x : templates.list()) x.rootfs().ifPresent(roots::add);
      assertEquals(1, artifacts.collect(() -> roots, DiskLayers::backingOf));
    }
  }
}
