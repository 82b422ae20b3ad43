package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.fixtures.LocalS3;
import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two nodes sharing template artifacts through one bucket on a real S3 server: node A builds and
 * snapshots the template, which uploads both; node B, on a data directory of its own that has
 * neither, restores a sandbox from A's snapshot, fetched from the bucket on its first create.
 *
 * <p>Until templates live in a shared database, B is told of the template the way one would tell
 * it: A's template row and A's snapshot pointer, copied into B's data directory before it starts
 * (the row verbatim, naming A's image under A's data directory).
 */
@Tag("system")
@ExtendWith(LocalS3.Extension.class)
class SharedArtifactsSystemTest {
  private static TestHost a;
  private static TestHost b;

  @BeforeAll
  static void nodes(LocalS3 s3) throws Exception {
    var bucket = s3.config(s3.newBucket());
    a = TestHost.startSharing(bucket);
    a.awaitTemplateSnapshot();
    b = TestHost.unbootedSharing(bucket);
    Path data = b.dataDir();
    Files.createDirectories(data.resolve("templates/" + TestHost.TEMPLATE));
    // What a shared database would give B: the template's row and its current snapshot.
    TemplateRow row;
    try (Database db = Database.open(a.dataDir().resolve("kiln.db"))) {
      row = new TemplateRepository(db).find(TestHost.TEMPLATE).orElseThrow();
    }
    try (Database db = Database.open(data.resolve("kiln.db"))) {
      new TemplateRepository(db).upsert(row);
    }
    Files.copy(a.dataDir().resolve("templates/" + TestHost.TEMPLATE + "/snapshot.json"), data.resolve("templates/" + TestHost.TEMPLATE + "/snapshot.json"));
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
    Path snapshotA = a.snapshotDir(false).orElseThrow();
    Path snapshotB = b.snapshotDir(false).orElseThrow();
    assertEquals(snapshotA.getFileName(), snapshotB.getFileName());
    assertTrue(snapshotB.startsWith(b.dataDir().resolve("artifacts/snapshots")), snapshotB.toString());
    assertFalse(Files.exists(snapshotB), "B took or fetched the snapshot before anything needed it");

    String id = b.createSandbox(Map.of("template", TestHost.TEMPLATE));

    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(b, id));
    TestHost.Reply r = b.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "echo hi from b > /root/f && cat /root/f"));
    assertEquals(200, r.status(), r.raw());
    assertEquals("hi from b\n", r.json().path("stdout").asText());
    Path imageA = a.daemon().templates().find(TestHost.TEMPLATE).orElseThrow().rootfs().orElseThrow();
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
