package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.config.SandboxQuotas;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A sandbox holds no more of the host's disk, and no more checkpoints, than its quotas: 512 MiB
 * and 2 here; and its disk stands on at most one frozen layer before it is flattened.
 */
@Tag("system")
class DiskQuotaSystemTest {
  private static final long QUOTA_MIB = 512;
  static TestHost host;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithQuotas(new SandboxQuotas(2, QUOTA_MIB, 1));
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  private static TestHost.Reply checkpoint(String id, String name) throws Exception {
    return host.call("POST", "/v1/sandboxes/" + id + "/checkpoints", Map.of("name", name));
  }

  private static long free() throws Exception {
    return Files.getFileStore(host.dir).getUsableSpace();
  }

  @Test
  void fillingTheQuotaGivesItsErrorAndTheHostLosesNoMoreThanTheQuota() throws Exception {
    long before = free();
    String id = host.createSandbox();
    assertEquals(201, checkpoint(id, "c1").status());
    TestHost.Reply fill = host.call("POST", "/v1/sandboxes/" + id + "/exec",
        Map.of("command", "dd if=/dev/urandom of=/root/big bs=1M count=250 2>/dev/null && sync && echo filled", "timeoutSeconds", 600));
    assertEquals("filled", fill.json().path("stdout").asText().strip(), fill.raw());

    TestHost.Reply refused = checkpoint(id, "c2");
    assertEquals(507, refused.status(), refused.raw());
    assertEquals("DISK_QUOTA_EXCEEDED", refused.json().path("error").path("code").asText());
    assertTrue(refused.json().path("error").path("message").asText().contains("quota of " + QUOTA_MIB + " MiB"), refused.raw());
    TestHost.Reply pause = host.call("POST", "/v1/sandboxes/" + id + "/pause", null);
    assertEquals(507, pause.status(), "a pause would write its RAM past the quota too: " + pause.raw());
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "true")).status(), "refused, and it runs on");

    long dropMib = (before - free()) >> 20;
    assertTrue(dropMib <= QUOTA_MIB, "the host lost " + dropMib + " MiB to a sandbox with a " + QUOTA_MIB + " MiB quota");
    assertEquals(1, host.call("GET", "/v1/sandboxes/" + id + "/checkpoints", null).json().path("checkpoints").size(), "the refused checkpoint left nothing");
  }

  @Test
  void oneCheckpointPastTheCountIsRefusedUntilOneIsDeleted() throws Exception {
    String id = host.createSandbox();
    assertEquals(201, checkpoint(id, "a").status());
    assertEquals(201, checkpoint(id, "b").status());
    TestHost.Reply third = checkpoint(id, "c");
    assertEquals(409, third.status(), third.raw());
    assertEquals("CHECKPOINT_LIMIT", third.json().path("error").path("code").asText());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + id + "/checkpoints/a", null).status());
    assertEquals(201, checkpoint(id, "c").status());
  }

  @Test
  void aDiskLargerThanTheQuotaIsRefusedAtCreate() throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "memoryMib", 256, "diskMib", QUOTA_MIB + 1));
    assertEquals(400, r.status(), r.raw());
    assertTrue(r.json().path("error").path("message").asText().contains("sandboxQuotas.diskMib"), r.raw());
  }

  private static String run(String id, String command) throws Exception {
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", command));
    assertEquals(200, r.status(), r.raw());
    return r.json().path("stdout").asText();
  }

  /** The layers under the sandbox's own, from its row's VM record and the daemon's parent records. */
  private static java.util.List<java.nio.file.Path> chainBelow(String id) throws Exception {
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + host.dataDir().resolve("kiln.db"));
        java.sql.PreparedStatement p = c.prepareStatement("SELECT vm_json FROM sandboxes WHERE id = ?")) {
      p.setString(1, id);
      var rs = p.executeQuery();
      rs.next();
      return dev.kiln.vmm.DiskParents.below(dev.kiln.vmm.VmRecords.decode(rs.getString(1)).rootDisk());
    }
  }

  @Test
  void aDiskPastItsLayerLimitIsFlattenedInTheBackgroundKeepingItsDataAndCheckpoints() throws Exception {
    String id = host.createSandbox();
    run(id, "echo one > /root/one && sync");
    assertEquals(201, checkpoint(id, "first").status());
    run(id, "echo two > /root/two && sync");
    assertEquals(201, checkpoint(id, "second").status());
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofMinutes(2)).pollInterval(java.time.Duration.ofMillis(200))
        .until(() -> host.call("GET", "/v1/sandboxes/" + id + "/events", null).raw().contains("\"flattened\""));
    assertEquals(1, chainBelow(id).size(), "its own layer stands on the template's image alone: " + chainBelow(id));
    assertEquals("one\ntwo\n", run(id, "cat /root/one /root/two"));
    assertEquals("three\n", run(id, "echo three > /root/three && sync && cat /root/three"));
    // The frozen layers are still the checkpoints' own.
    assertEquals(200, host.call("POST", "/v1/sandboxes/" + id + "/checkpoints/first/restore", null).status());
    assertEquals("one\n", run(id, "cat /root/one; cat /root/two 2>/dev/null; true"));
  }
}
