package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.image.TemplateSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Template images and snapshots are immutable artifacts: a re-snapshot or a rebuild while sandboxes
 * use the template makes new ones, the sandboxes on the old ones go on (checkpoint, fork, restore),
 * new creates use the new ones, and the old ones are collected once their last user is gone.
 */
@Tag("system")
class TemplateArtifactsSystemTest extends SnapshottedHostTest {

  private static String create() throws Exception {
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, id));
    return id;
  }

  private static String out(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText();
  }

  private static Path currentSnapshot() throws Exception {
    return host.snapshotDir(false).orElseThrow();
  }

  private static Path image() {
    return host.daemon.templates().find(TestHost.TEMPLATE).orElseThrow().rootfs().orElseThrow();
  }

  private static void delete(String id) throws Exception {
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id, null).status());
  }

  private static void awaitGone(Path p) {
    Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100)).until(() -> !Files.exists(p));
  }

  @Test
  void sandboxesOnOldArtifactsOutliveAReSnapshotAndARebuildWhichAreCollectedAfterThem() throws Exception {
    String old = create();
    out(old, "echo before > /root/mark");
    Path oldSnapshot = currentSnapshot();
    Path oldImage = image();
    assertTrue(oldSnapshot.startsWith(host.dir.resolve("data/artifacts/snapshots")), oldSnapshot.toString());
    assertTrue(oldImage.startsWith(host.dir.resolve("data/artifacts/images")), oldImage.toString());

    // Re-snapshot while a sandbox restored from the snapshot runs: allowed, and a new artifact.
    TestHost.Reply r = host.call("POST", "/v1/templates/" + TestHost.TEMPLATE + "/snapshot", null);
    assertEquals(200, r.status(), r.raw());
    Path secondSnapshot = currentSnapshot();
    assertNotEquals(oldSnapshot, secondSnapshot);
    assertTrue(Files.exists(oldSnapshot.resolve("memory")) && Files.exists(oldSnapshot.resolve("disk.qcow2")), "the old snapshot is untouched");

    assertEquals("before\n", out(old, "cat /root/mark"));
    assertEquals(201, host.call("POST", "/v1/sandboxes/" + old + "/checkpoints", Map.of("name", "cp")).status());
    out(old, "echo after > /root/mark");
    TestHost.Reply forked = host.call("POST", "/v1/sandboxes/" + old + "/fork", Map.of("count", 1, "checkpoint", "cp"));
    assertEquals(201, forked.status(), forked.raw());
    String fork = forked.json().path("sandboxes").get(0).path("id").asText();
    assertEquals("before\n", out(fork, "cat /root/mark"));
    TestHost.Reply restored = host.call("POST", "/v1/sandboxes/" + old + "/checkpoints/cp/restore", null);
    assertEquals(200, restored.status(), restored.raw());
    assertEquals("before\n", out(old, "cat /root/mark"));

    String second = create(); // from the second snapshot
    assertEquals("ok\n", out(second, "echo ok"));

    // Rebuild while sandboxes use the template: a new image, then its snapshot; the sandboxes go on.
    host.daemon.templates().build(TestHost.TEMPLATE, new TemplateSource.Directory(host.dir.resolve("rootfs")), 256, java.util.Optional.empty());
    host.awaitTemplateSnapshot();
    assertNotEquals(oldImage, image());
    Path thirdSnapshot = currentSnapshot();
    assertNotEquals(secondSnapshot, thirdSnapshot);
    String third = create();
    assertEquals("ok\n", out(third, "echo ok"));
    assertEquals("before\n", out(old, "cat /root/mark"));
    assertEquals("ok\n", out(second, "echo ok"));

    // The first snapshot goes with its last users; the old image stays while the second snapshot's sandbox is built on it.
    delete(old);
    assertTrue(Files.exists(oldSnapshot), "the fork is still restored from it");
    delete(fork);
    awaitGone(oldSnapshot);
    assertTrue(Files.exists(oldImage) && Files.exists(secondSnapshot));
    assertEquals("ok\n", out(second, "echo ok"));
    delete(second);
    awaitGone(secondSnapshot);
    awaitGone(oldImage);
    assertTrue(Files.exists(thirdSnapshot) && Files.exists(image()), "the current ones stay");
    assertEquals("ok\n", out(third, "echo ok"));
    delete(third);
    assertFalse(Files.exists(oldImage.getParent()), "the whole image artifact went");
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, create()));
  }
}
