package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.host.CommandRunner;
import dev.kiln.image.TemplateSource;
import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A data directory from before artifacts (the image at templates/<name>/rootfs.ext4, the snapshot
 * in templates/<name>/snapshot/) keeps working after the upgrade: a sandbox restored from the
 * legacy snapshot survives the daemon's restart and a re-snapshot, and the legacy files are
 * collected once nothing names them, never moved.
 */
@Tag("system")
class LegacyLayoutSystemTest {
  static TestHost host;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithSnapshots();
    host.awaitTemplateSnapshot();
    host.stopDaemonOnly(); // no sandboxes yet: nothing runs while the layout is rewritten
    toLegacyLayout();
    host.boot();
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  private static Path templateDir() {
    return host.dir.resolve("data/templates/" + TestHost.TEMPLATE);
  }

  /** What a daemon before artifacts left: image and snapshot inside the template's directory, no snapshot id in the row, the row naming the image there. */
  private static void toLegacyLayout() throws Exception {
    Path dir = templateDir();
    try (Database db = Database.open(host.dir.resolve("data/kiln.db"))) {
      TemplateRepository templates = new TemplateRepository(db);
      TemplateRow row = templates.find(TestHost.TEMPLATE).orElseThrow();
      Path snapshot = host.dir.resolve("data/artifacts/snapshots").resolve(templates.snapshots(TestHost.TEMPLATE).orElseThrow().plain().orElseThrow());
      Path image = Path.of(row.rootfsPath().orElseThrow());
      Files.move(image, dir.resolve("rootfs.ext4")); // same inode, size and time: the snapshot manifest's rootfsKey still holds
      Files.move(snapshot, dir.resolve("snapshot"));
      CommandRunner.run(List.of("qemu-img", "rebase", "-u", "-f", "qcow2", "-F", "raw", "-b", dir.resolve("rootfs.ext4").toString(),
          dir.resolve("snapshot/disk.qcow2").toString()), Duration.ofSeconds(30));
      Files.delete(dir.resolve("snapshot/disk.qcow2.parent")); // that daemon kept no parent records: the header is all there is
      db.inTransaction(c -> {
        try (var st = c.createStatement()) {
          return st.executeUpdate("UPDATE templates SET snapshot_id = NULL, snapshot_net_id = NULL");
        }
      });
      Files.delete(image.getParent());
      templates.upsert(new TemplateRow(row.name(), row.status(), row.source(), Optional.of(dir.resolve("rootfs.ext4").toString()), row.rootfsBytes(),
          row.error(), row.createdAt(), row.updatedAt(), row.imageDigest(), row.configJson(), row.freeSpaceMib(), row.machine(), row.owner()));
    }
  }

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText();
  }

  @Test
  void aSandboxOnTheLegacySnapshotOutlivesARestartAndAReSnapshotThenTheLegacyFilesAreCollected() throws Exception {
    Path legacySnapshot = templateDir().resolve("snapshot");
    Path legacyImage = templateDir().resolve("rootfs.ext4");
    assertEquals(legacySnapshot, host.snapshotDir(false).orElseThrow(), "no id recorded: the legacy snapshot is current");
    String old = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, old));
    out(old, "echo kept > /root/mark");

    host.stopDaemonOnly(); // the VM keeps running; the next daemon re-adopts it and collects at start
    host.boot();
    assertTrue(Files.exists(legacySnapshot.resolve("memory")) && Files.exists(legacyImage));
    assertEquals("kept\n", out(old, "cat /root/mark"));

    TestHost.Reply r = host.call("POST", "/v1/templates/" + TestHost.TEMPLATE + "/snapshot", null);
    assertEquals(200, r.status(), r.raw());
    Path current = host.snapshotDir(false).orElseThrow();
    assertTrue(current.startsWith(host.dir.resolve("data/artifacts/snapshots")), current.toString());
    assertEquals("kept\n", out(old, "cat /root/mark"));
    assertTrue(Files.exists(legacySnapshot), "the sandbox's layer names it");

    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + old, null).status());
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(legacySnapshot));
    assertTrue(Files.exists(legacyImage), "the template's row and its new snapshot still name the legacy image");

    host.daemon.templates().build(TestHost.TEMPLATE, new TemplateSource.Directory(host.dir.resolve("rootfs")), 256, java.util.Optional.empty());
    host.awaitTemplateSnapshot();
    String fresh = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, fresh));
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(legacyImage) && !Files.exists(current));
    assertFalse(Files.exists(legacySnapshot));
  }
}
