package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.audit.AuditEntry;
import dev.kiln.audit.AuditLog;
import dev.kiln.audit.AuditTrail;
import dev.kiln.audit.AuditVerifier;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The audit trail on either database (AuditTrailTest: SQLite, AuditTrailPostgresTest: PostgreSQL):
 * records are chained in order, and a verification finds a record removed from the middle or the
 * end, or altered, as an attacker with the database but not the daemon's data directory would.
 */
abstract class AuditTrailContract {
  @TempDir Path dir;
  private Database db;
  private AuditRepository repo;
  private AuditTrail trail;
  private AuditLog log;

  abstract Dialect dialect();

  @BeforeEach
  void open() throws Exception {
    db = TestStore.fresh(dialect(), dir, getClass()).open();
    repo = new AuditRepository(db);
    trail = new AuditTrail(repo, dir, "node-a");
    log = new AuditLog(repo, trail);
  }

  @AfterEach
  void close() throws Exception {
    trail.close();
    db.close();
  }

  private void record(int n) throws InterruptedException {
    for (int i = 0; i < n; i++) {
      trail.record(new AuditEntry(Instant.now(), "key-" + i, "POST /v1/sandboxes/{id}/exec", "sb-aaaaaaaaaaaaaaaa", 200,
          Map.of("argv", List.of("echo", Integer.toString(i)), "exitCode", 0)));
    }
    trail.flush(Duration.ofSeconds(30));
  }

  private AuditVerifier.ChainReport only() throws Exception {
    List<AuditVerifier.ChainReport> reports = log.verify();
    assertEquals(1, reports.size(), reports.toString());
    return reports.getFirst();
  }

  private void tamper(String sql) {
    db.inTransaction(c -> c.createStatement().executeUpdate(sql));
  }

  @Test
  void recordsAreChainedInOrderAndVerify() throws Exception {
    record(1200);
    List<AuditRow> rows = log.find(Optional.of("sb-aaaaaaaaaaaaaaaa"), Instant.EPOCH, 10_000);
    assertEquals(1200, rows.size());
    for (int i = 1; i < rows.size(); i++) assertEquals(rows.get(i - 1).hash(), rows.get(i).prevHash());
    assertEquals("{\"argv\":[\"echo\",\"0\"],\"exitCode\":0}".length(), rows.getFirst().detailJson().length());
    assertEquals(new AuditVerifier.ChainReport("node-a", 1200, Optional.empty()), only());
  }

  @Test
  void aRecordRemovedFromTheMiddleIsFound() throws Exception {
    record(10);
    tamper("DELETE FROM audit_log WHERE seq = 4");
    assertEquals(Optional.of("record 4 is missing: the chain goes from 3 to 5"), only().problem());
  }

  @Test
  void aRecordAlteredIsFound() throws Exception {
    record(10);
    tamper("UPDATE audit_log SET detail_json = '{\"argv\":[\"true\"],\"exitCode\":0}' WHERE seq = 6");
    assertEquals(Optional.of("record 6 was altered: its fields do not give its hash"), only().problem());
  }

  @Test
  void aRecordRehashedIsFoundByTheNextOne() throws Exception {
    record(10);
    tamper("UPDATE audit_log SET actor = 'someone-else', hash = '" + "f".repeat(64) + "' WHERE seq = 6");
    // Its own hash was made to fit something; the next record's link to it no longer does.
    assertTrue(only().problem().orElseThrow().startsWith("record 6"), only().toString());
  }

  @Test
  void recordsRemovedFromTheEndAreFoundByTheHead() throws Exception {
    record(10);
    tamper("DELETE FROM audit_log WHERE seq > 7");
    assertEquals(Optional.of("records 8 to 10 were removed from the end: this daemon wrote up to 10"), only().problem());
  }

  @Test
  void aDaemonRestartedOnTheSameDataDirectoryGoesOnWithItsChain() throws Exception {
    record(3);
    trail.close();
    trail = new AuditTrail(repo, dir, "another-name");
    log = new AuditLog(repo, trail);
    record(2);
    assertEquals(new AuditVerifier.ChainReport("node-a", 5, Optional.empty()), only());
  }
}
