package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.config.DatabaseConfig;
import dev.kiln.fixtures.LocalS3;
import dev.kiln.store.PostgresServer;
import dev.kiln.store.PostgresTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two nodes sharing template artifacts through one bucket on a real S3 server and their state
 * through one PostgreSQL database: node A builds and snapshots the template, which uploads both
 * and records them in the template's row; node B, on a data directory of its own that has neither,
 * reads the row and restores a sandbox from A's snapshot, fetched from the bucket on its first create.
 *
 * <p>A stops before B starts: two combined daemons on one database would take each other's
 * sandboxes for a crash's leftovers, and node roles are not there yet. A's files stay for the
 * comparison.
 */
@Tag("system")
@ExtendWith(LocalS3.Extension.class)
class SharedArtifactsSystemTest {
  private static TestHost a;
  private static TestHost b;
  private static Path snapshotA;
  private static Path imageA;

  @BeforeAll
  static void nodes(LocalS3 s3) throws Exception {
    var bucket = s3.config(s3.newBucket());
    PostgresTarget db = PostgresServer.shared().newDatabase();
    DatabaseConfig database = new DatabaseConfig(db.url(), db.user(), null, 2);
    a = TestHost.startSharing(bucket, database);
    a.awaitTemplateSnapshot();
    snapshotA = a.snapshotDir(false).orElseThrow();
    imageA = a.daemon().templates().find(TestHost.TEMPLATE).orElseThrow().rootfs().orElseThrow();
    a.stopDaemonOnly();
    b = TestHost.unbootedSharing(bucket, database);
    b.boot();
  }

  @AfterAll
  static void down() throws Exception {
    try {
      if (b != null) b.close();
    } finally {
      if (a != null) a.close();
    }
  }

  @Test
  void aSandboxOnTheSecondNodeRestoresFromTheSnapshotTheFirstTookFetchedFromTheBucket() throws Exception {
    Path snapshotB = b.snapshotDir(false).orElseThrow();
    assertEquals(snapshotA.getFileName(), snapshotB.getFileName());
    assertTrue(snapshotB.startsWith(b.dataDir().resolve("artifacts/snapshots")), snapshotB.toString());
    assertFalse(Files.exists(snapshotB), "B took or fetched the snapshot before anything needed it");

    String id = b.createSandbox(Map.of("template", TestHost.TEMPLATE));

    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(b, id));
    TestHost.Reply r = b.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo hi from b > /root/f && cat /root/f"));
    assertEquals(200, r.status(), r.raw());
    assertEquals("hi from b\n", r.json().path("stdout").asText());
    Path imageB = b.daemon().templates().find(TestHost.TEMPLATE).orElseThrow().rootfs().orElseThrow();
    assertEquals(b.dataDir().resolve("artifacts/images").resolve(imageA.getParent().getFileName()).resolve("rootfs.ext4"), imageB);
    assertEquals(Files.size(imageA), Files.size(imageB));
    for (String f : new String[] {"state", "memory", "disk.qcow2", "manifest.json"}) {
      assertEquals(Files.size(snapshotA.resolve(f)), Files.size(snapshotB.resolve(f)), f);
    }
    // A second create restores from the copy now here.
    String second = b.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(b, second));
  }
}
