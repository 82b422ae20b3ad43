package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The {@code build_cache} table: a node's cached Dockerfile build steps. */
public final class BuildCacheRepository {
  private static final String COLUMNS = "node_id, step_key, disk_path, bytes, created_at, used_at";
  private final Database db;

  /** One cached step: the key of what it depends on, and the disk file that holds its result. */
  public record Entry(String nodeId, String key, String diskPath, long bytes, Instant createdAt, Instant usedAt) {}

  public BuildCacheRepository(Database db) {
    this.db = db;
  }

  /** The entry of {@code key} on this node, its use time moved to {@code now} (what collection by age reads). */
  public Optional<Entry> use(String nodeId, String key, Instant now) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE build_cache SET used_at = ? WHERE node_id = ? AND step_key = ?")) {
        p.setLong(1, now.toEpochMilli());
        p.setString(2, nodeId);
        p.setString(3, key);
        if (p.executeUpdate() == 0) return Optional.<Entry>empty();
      }
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM build_cache WHERE node_id = ? AND step_key = ?")) {
        p.setString(1, nodeId);
        p.setString(2, key);
        try (ResultSet r = p.executeQuery()) {
          return r.next() ? Optional.of(entry(r)) : Optional.<Entry>empty();
        }
      }
    });
  }

  /**
   * Records a step's result under its key, in place of an entry there (one whose file was
   * collected, or a concurrent build's equal result, whose file goes with the next collection
   * unless something is built on it).
   */
  public void put(Entry e) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO build_cache (" + COLUMNS + ") VALUES (?,?,?,?,?,?) ON CONFLICT (node_id, step_key) "
          + "DO UPDATE SET disk_path = excluded.disk_path, bytes = excluded.bytes, created_at = excluded.created_at, used_at = excluded.used_at")) {
        p.setString(1, e.nodeId());
        p.setString(2, e.key());
        p.setString(3, e.diskPath());
        p.setLong(4, e.bytes());
        p.setLong(5, e.createdAt().toEpochMilli());
        p.setLong(6, e.usedAt().toEpochMilli());
        return p.executeUpdate();
      }
    });
  }

  /** This node's entries, least recently used first. */
  public List<Entry> allOn(String nodeId) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM build_cache WHERE node_id = ? ORDER BY used_at, step_key")) {
        p.setString(1, nodeId);
        List<Entry> out = new ArrayList<>();
        try (ResultSet r = p.executeQuery()) {
          while (r.next()) out.add(entry(r));
        }
        return out;
      }
    });
  }

  public void delete(String nodeId, String key) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM build_cache WHERE node_id = ? AND step_key = ?")) {
        p.setString(1, nodeId);
        p.setString(2, key);
        return p.executeUpdate();
      }
    });
  }

  private static Entry entry(ResultSet r) throws SQLException {
    return new Entry(r.getString(1), r.getString(2), r.getString(3), r.getLong(4), Instant.ofEpochMilli(r.getLong(5)), Instant.ofEpochMilli(r.getLong(6)));
  }
}
