package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** A template is "ready" only once sandboxes restore from its snapshot; before, it says "snapshotting", and creates say why they boot. */
@Tag("system")
class TemplateStatusSystemTest {
  static TestHost host;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithSnapshots(); // returns once the template is built, its snapshot just started
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  @Test
  void snapshottingUntilTheSnapshotIsTakenThenReady() throws Exception {
    JsonNode t = host.call("GET", "/v1/templates/" + TestHost.TEMPLATE, null).json();
    assertEquals("snapshotting", t.path("status").asText(), t.toString());
    assertFalse(t.has("snapshot"), t.toString());

    // A create meanwhile boots, and its event says why.
    String early = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    String how = SnapshotSystemTest.createdHow(host, early);
    assertTrue(how.startsWith("booted: template snapshot not taken yet"), how);
    assertEquals("boot", host.call("GET", "/v1/sandboxes/" + early, null).json().path("startedFrom").asText());
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + early, null).status());

    host.awaitTemplateSnapshot();
    t = host.call("GET", "/v1/templates/" + TestHost.TEMPLATE, null).json();
    assertEquals("ready", t.path("status").asText(), t.toString());
    String fast = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, fast));
    assertEquals(204, host.call("DELETE", "/v1/sandboxes/" + fast, null).status());
  }
}
