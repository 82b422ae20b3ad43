package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;

/** Per-sandbox disk size: the disk and the root filesystem grow online to diskMib, on both create paths. */
@Tag("system")
class DiskSizeSystemTest extends SnapshottedHostTest {
  private static final int DISK_MIB = 900;

  private static void assertGrown(String id, String how) throws Exception {
    JsonNode sb = host.call("GET", "/v1/sandboxes/" + id, null).json();
    assertEquals(DISK_MIB, sb.path("diskMib").asInt(), sb.toString());
    assertEquals(how, sb.path("startedFrom").asText());
    // More than the template had free (about 256 MiB): only a grown filesystem takes it.
    TestHost.Reply r = host.call("POST", "/v1/sandboxes/" + id + "/exec",
        Map.of("command", "dd if=/dev/zero of=/root/big bs=1M count=500 2>&1 && sync && df -m / | tail -1", "timeoutSeconds", 120));
    assertEquals(200, r.status(), r.raw());
    assertEquals(0, r.json().path("exitCode").asInt(-1), r.raw());
    String[] df = r.json().path("stdout").asText().strip().split("\n");
    long totalMib = Long.parseLong(df[df.length - 1].trim().split("\\s+")[1]);
    assertTrue(totalMib > DISK_MIB - 60 && totalMib <= DISK_MIB, "the root filesystem spans the disk: " + totalMib + " MiB");
  }

  @Test
  void aSandboxFromTheSnapshotGrowsItsDiskAndFilesystem() throws Exception {
    assertGrown(host.createSandbox(Map.of("template", TestHost.TEMPLATE, "diskMib", DISK_MIB)), "snapshot");
  }

  @Test
  void aBootedSandboxGrowsToo() throws Exception {
    assertGrown(host.createSandbox(Map.of("template", TestHost.TEMPLATE, "diskMib", DISK_MIB, "memoryMib", 256)), "boot");
  }

  @Test
  void sizesBelowTheTemplateOrBeyondTheHostAreRefused() throws Exception {
    TestHost.Reply small = host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "diskMib", 1));
    assertEquals(400, small.status(), small.raw());
    assertTrue(small.raw().contains("template's size"), small.raw());
    TestHost.Reply huge = host.call("POST", "/v1/sandboxes", Map.of("template", TestHost.TEMPLATE, "diskMib", 1L << 24));
    assertEquals(422, huge.status(), huge.raw());
    assertTrue(huge.raw().contains("free"), huge.raw());
  }
}
