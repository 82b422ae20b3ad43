package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.kiln.store.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A data directory a daemon before the templates' snapshot columns left (the current snapshot in
 * {@code templates/<name>/snapshot.json}, the row recording none): the next daemon takes the file
 * over at start, before it decides which templates lack a snapshot, so the snapshot is not taken
 * again and sandboxes restore from it.
 */
@Tag("system")
class SnapshotPointerFileUpgradeSystemTest {
  static TestHost host;
  static Path snapshot;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.startWithSnapshots();
    host.awaitTemplateSnapshot();
    snapshot = host.snapshotDir(false).orElseThrow();
    host.stopDaemonOnly();
    try (Database db = Database.open(host.dataDir().resolve("kiln.db"))) {
      db.inTransaction(c -> {
        try (var st = c.createStatement()) {
          return st.executeUpdate("UPDATE templates SET snapshot_id = NULL");
        }
      });
    }
    Files.writeString(pointerFile(), "{\"id\":\"" + snapshot.getFileName() + "\",\"dir\":\"" + snapshot + "\"}");
    host.boot();
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  private static Path pointerFile() {
    return host.dataDir().resolve("templates/" + TestHost.TEMPLATE + "/snapshot.json");
  }

  @Test
  void thePointerFileIsTakenOverAtStartAndItsSnapshotStaysCurrent() throws Exception {
    assertFalse(Files.exists(pointerFile()));
    assertEquals(Optional.of(snapshot), host.snapshotDir(false), "the row names it now");
    assertEquals("ready", host.call("GET", "/v1/templates/" + TestHost.TEMPLATE, null).json().path("status").asText(),
        "the daemon found the snapshot and is not taking another");
    String id = host.createSandbox(Map.of("template", TestHost.TEMPLATE));
    assertEquals("restored from the template snapshot", SnapshotSystemTest.createdHow(host, id));
  }
}
