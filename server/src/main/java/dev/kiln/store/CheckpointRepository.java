package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The {@code checkpoints} table. */
public final class CheckpointRepository {
  private static final String COLUMNS = "id, sandbox_id, name, disk_path, state_bytes, state_sha256, vm_json, created_at";
  private final Database db;

  public CheckpointRepository(Database db) {
    this.db = db;
  }

  /**
   * Inserts the row and, in the same transaction, the sandbox's event saying so; false (and
   * nothing written) if the sandbox already has a checkpoint of that name.
   */
  public boolean insert(CheckpointRow r, String eventKind, String eventMessage) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO checkpoints (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING")) {
        p.setString(1, r.id());
        p.setString(2, r.sandboxId());
        p.setString(3, r.name());
        p.setString(4, r.diskPath());
        p.setLong(5, r.stateBytes());
        p.setString(6, r.stateSha256());
        p.setString(7, r.vmJson());
        p.setLong(8, r.createdAt().toEpochMilli());
        if (p.executeUpdate() != 1) return false;
      }
      EventRepository.append(c, r.sandboxId(), new EventRepository.Note(eventKind, eventMessage));
      return true;
    });
  }

  public Optional<CheckpointRow> find(String sandboxId, String name) {
    List<CheckpointRow> rows = select("WHERE sandbox_id = ? AND name = ?", sandboxId, name);
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
  }

  public List<CheckpointRow> ofSandbox(String sandboxId) {
    return select("WHERE sandbox_id = ? ORDER BY created_at, name", sandboxId);
  }

  /** The checkpoints of one node's sandboxes: their disks are roots of that node's disk-layer collection. */
  public List<CheckpointRow> allOn(String nodeId) {
    return select("WHERE sandbox_id IN (SELECT id FROM sandboxes WHERE node_id = ?)", nodeId);
  }

  /** A checkpoint whose files this node fetched from the object store: its disk is the local copy now. */
  public void relocate(String id, String diskPath, String vmJson) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE checkpoints SET disk_path = ?, vm_json = ? WHERE id = ?")) {
        p.setString(1, diskPath);
        p.setString(2, vmJson);
        p.setString(3, id);
        return p.executeUpdate();
      }
    });
  }

  public void delete(String id) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM checkpoints WHERE id = ?")) {
        p.setString(1, id);
        return p.executeUpdate();
      }
    });
  }

  private List<CheckpointRow> select(String where, String... args) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM checkpoints " + where)) {
        for (int i = 0; i < args.length; i++) p.setString(i + 1, args[i]);
        try (ResultSet rs = p.executeQuery()) {
          List<CheckpointRow> out = new ArrayList<>();
          while (rs.next()) out.add(read(rs));
          return out;
        }
      }
    });
  }

  private static CheckpointRow read(ResultSet rs) throws SQLException {
    return new CheckpointRow(rs.getString("id"), rs.getString("sandbox_id"), rs.getString("name"), rs.getString("disk_path"),
        rs.getLong("state_bytes"), rs.getString("state_sha256"), rs.getString("vm_json"), Instant.ofEpochMilli(rs.getLong("created_at")));
  }
}
