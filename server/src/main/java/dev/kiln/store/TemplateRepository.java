package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** The {@code templates} table. */
public final class TemplateRepository {
  private static final String COLUMNS = "name, status, source, rootfs_path, rootfs_bytes, error, created_at, updated_at, image_digest, config_json, free_space_mib, machine, owner";
  private final Database db;

  public TemplateRepository(Database db) {
    this.db = db;
  }

  /**
   * Inserts or replaces the row (a rebuild of a template replaces it); its current snapshots and its
   * owner stay as they were. A new row counts against its owner's key.
   *
   * @throws QuotaExceededException a new template the owner's key has no room for; nothing is written
   */
  public void upsert(TemplateRow r) {
    db.inTransaction(c -> {
      if (findIn(c, r.name()).isEmpty()) KeyQuotas.admitTemplate(c, r.owner());
      return upsertIn(c, r);
    });
  }

  private static int upsertIn(java.sql.Connection c, TemplateRow r) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("INSERT INTO templates (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
        + "ON CONFLICT(name) DO UPDATE SET status = excluded.status, source = excluded.source, rootfs_path = excluded.rootfs_path, "
        + "rootfs_bytes = excluded.rootfs_bytes, error = excluded.error, updated_at = excluded.updated_at, "
        + "image_digest = excluded.image_digest, config_json = excluded.config_json, free_space_mib = excluded.free_space_mib, machine = excluded.machine")) {
      p.setString(1, r.name());
      p.setString(2, r.status());
      p.setString(3, r.source());
      p.setString(4, r.rootfsPath().orElse(null));
      SandboxRepository.setOptionalLong(p, 5, r.rootfsBytes());
      p.setString(6, r.error().orElse(null));
      p.setLong(7, r.createdAt().toEpochMilli());
      p.setLong(8, r.updatedAt().toEpochMilli());
      p.setString(9, r.imageDigest().orElse(null));
      p.setString(10, r.configJson().orElse(null));
      p.setLong(11, r.freeSpaceMib());
      p.setString(12, r.machine());
      p.setString(13, r.owner());
      return p.executeUpdate();
    }
  }

  public Optional<TemplateRow> find(String name) {
    return db.read(c -> findIn(c, name));
  }

  private static Optional<TemplateRow> findIn(java.sql.Connection c, String name) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM templates WHERE name = ?")) {
      p.setString(1, name);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  public List<TemplateRow> all() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM templates ORDER BY name"); ResultSet rs = p.executeQuery()) {
        List<TemplateRow> out = new ArrayList<>();
        while (rs.next()) out.add(read(rs));
        return out;
      }
    });
  }

  /** True while any sandbox (in any state) still refers to the template's image. */
  public boolean inUse(String name) {
    return db.read(c -> usedBy(c, name));
  }

  /** Deletes the template unless a sandbox still uses it; returns false when one does. */
  public boolean deleteIfUnused(String name) {
    return db.inTransaction(c -> {
      if (usedBy(c, name)) return false;
      try (PreparedStatement p = c.prepareStatement("DELETE FROM template_versions WHERE name = ?")) {
        p.setString(1, name);
        p.executeUpdate();
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM templates WHERE name = ?")) {
        p.setString(1, name);
        p.executeUpdate();
        return true;
      }
    });
  }

  private static boolean usedBy(java.sql.Connection c, String name) throws SQLException {
    try (PreparedStatement q = c.prepareStatement("SELECT 1 FROM sandboxes WHERE template = ? LIMIT 1")) {
      q.setString(1, name);
      try (ResultSet rs = q.executeQuery()) {
        return rs.next();
      }
    }
  }

  // ---- versions

  /** One version of a template: the row as it was when that build ended, its number, and whether it is pinned. */
  public record Version(TemplateRow row, int version, boolean pinned) {}

  private static final String VERSION_COLUMNS = "name, version, source, rootfs_path, rootfs_bytes, image_digest, config_json, free_space_mib, machine, owner, "
      + "pinned, created_at";

  /**
   * A build ended built: the row is written and, in the same transaction, a new version of it with
   * the next number, which is returned.
   */
  public int upsertBuilt(TemplateRow r) {
    return db.inTransaction(c -> {
      if (findIn(c, r.name()).isEmpty()) KeyQuotas.admitTemplate(c, r.owner());
      upsertIn(c, r);
      int next;
      try (PreparedStatement p = c.prepareStatement("SELECT COALESCE(MAX(version), 0) + 1 FROM template_versions WHERE name = ?")) {
        p.setString(1, r.name());
        try (ResultSet rs = p.executeQuery()) {
          rs.next();
          next = rs.getInt(1);
        }
      }
      try (PreparedStatement p = c.prepareStatement("INSERT INTO template_versions (" + VERSION_COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?,0,?)")) {
        p.setString(1, r.name());
        p.setInt(2, next);
        p.setString(3, r.source());
        p.setString(4, r.rootfsPath().orElseThrow());
        SandboxRepository.setOptionalLong(p, 5, r.rootfsBytes());
        p.setString(6, r.imageDigest().orElse(null));
        p.setString(7, r.configJson().orElse(null));
        p.setLong(8, r.freeSpaceMib());
        p.setString(9, r.machine());
        p.setString(10, r.owner());
        p.setLong(11, r.updatedAt().toEpochMilli());
        p.executeUpdate();
      }
      return next;
    });
  }

  /** Version {@code version} of the template, or its latest when {@code version} is 0. */
  public Optional<Version> version(String name, int version) {
    return db.read(c -> {
      String where = version == 0 ? "name = ? ORDER BY version DESC LIMIT 1" : "name = ? AND version = ?";
      try (PreparedStatement p = c.prepareStatement("SELECT " + VERSION_COLUMNS + " FROM template_versions WHERE " + where)) {
        p.setString(1, name);
        if (version != 0) p.setInt(2, version);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(readVersion(rs)) : Optional.<Version>empty();
        }
      }
    });
  }

  /** The template's versions, newest first. */
  public List<Version> versions(String name) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + VERSION_COLUMNS + " FROM template_versions WHERE name = ? ORDER BY version DESC")) {
        p.setString(1, name);
        List<Version> out = new ArrayList<>();
        try (ResultSet rs = p.executeQuery()) {
          while (rs.next()) out.add(readVersion(rs));
        }
        return out;
      }
    });
  }

  /** Every template's latest version number. */
  public java.util.Map<String, Integer> latestVersions() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT name, MAX(version) FROM template_versions GROUP BY name"); ResultSet rs = p.executeQuery()) {
        java.util.Map<String, Integer> out = new java.util.HashMap<>();
        while (rs.next()) out.put(rs.getString(1), rs.getInt(2));
        return out;
      }
    });
  }

  /** Every version's image: kept while its version row is. */
  public List<String> versionImages() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT rootfs_path FROM template_versions"); ResultSet rs = p.executeQuery()) {
        List<String> out = new ArrayList<>();
        while (rs.next()) out.add(rs.getString(1));
        return out;
      }
    });
  }

  /** Pins (or unpins) a version; false if there is no such version. */
  public boolean pin(String name, int version, boolean pinned) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE template_versions SET pinned = ? WHERE name = ? AND version = ?")) {
        p.setInt(1, pinned ? 1 : 0);
        p.setString(2, name);
        p.setInt(3, version);
        return p.executeUpdate() == 1;
      }
    });
  }

  /** Removes the versions that are not their template's latest, not pinned, and not what any sandbox was made from; returns how many. */
  public int pruneVersions() {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM template_versions WHERE pinned = 0 "
          + "AND version < (SELECT MAX(w.version) FROM template_versions w WHERE w.name = template_versions.name) "
          + "AND NOT EXISTS (SELECT 1 FROM sandboxes s WHERE s.template = template_versions.name AND s.template_version = template_versions.version)")) {
        return p.executeUpdate();
      }
    });
  }

  private static Version readVersion(ResultSet rs) throws SQLException {
    long bytes = rs.getLong("rootfs_bytes");
    OptionalLong bytesOpt = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(bytes);
    Instant created = Instant.ofEpochMilli(rs.getLong("created_at"));
    TemplateRow row = new TemplateRow(rs.getString("name"), "READY", rs.getString("source"), Optional.of(rs.getString("rootfs_path")), bytesOpt,
        Optional.empty(), created, created, Optional.ofNullable(rs.getString("image_digest")), Optional.ofNullable(rs.getString("config_json")),
        rs.getLong("free_space_mib"), rs.getString("machine"), rs.getString("owner"));
    return new Version(row, rs.getInt("version"), rs.getInt("pinned") != 0);
  }

  private static TemplateRow read(ResultSet rs) throws SQLException {
    long bytes = rs.getLong("rootfs_bytes");
    OptionalLong bytesOpt = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(bytes);
    return new TemplateRow(rs.getString("name"), rs.getString("status"), rs.getString("source"),
        Optional.ofNullable(rs.getString("rootfs_path")), bytesOpt, Optional.ofNullable(rs.getString("error")),
        Instant.ofEpochMilli(rs.getLong("created_at")), Instant.ofEpochMilli(rs.getLong("updated_at")),
        Optional.ofNullable(rs.getString("image_digest")), Optional.ofNullable(rs.getString("config_json")), rs.getLong("free_space_mib"),
        rs.getString("machine"), rs.getString("owner"));
  }

  /** A ready template built from this image manifest with this much free space, if any. */
  public Optional<TemplateRow> findReadyByImage(String imageDigest, long freeSpaceMib) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM templates WHERE image_digest = ? AND free_space_mib = ? "
          + "AND status IN ('READY', 'SNAPSHOTTING') ORDER BY updated_at DESC LIMIT 1")) {
        p.setString(1, imageDigest);
        p.setLong(2, freeSpaceMib);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(read(rs)) : Optional.<TemplateRow>empty();
        }
      }
    });
  }

  /** The template's current snapshots; empty if there is no such template. */
  public Optional<TemplateSnapshotIds> snapshots(String name) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT snapshot_id, snapshot_net_id FROM templates WHERE name = ?")) {
        p.setString(1, name);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(snapshotIds(rs)) : Optional.<TemplateSnapshotIds>empty();
        }
      }
    });
  }

  /** Every template's current snapshots, by name, read at one instant. */
  public Map<String, TemplateSnapshotIds> allSnapshots() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT name, snapshot_id, snapshot_net_id FROM templates ORDER BY name");
          ResultSet rs = p.executeQuery()) {
        Map<String, TemplateSnapshotIds> out = new LinkedHashMap<>();
        while (rs.next()) out.put(rs.getString("name"), snapshotIds(rs));
        return out;
      }
    });
  }

  private static TemplateSnapshotIds snapshotIds(ResultSet rs) throws SQLException {
    return new TemplateSnapshotIds(Optional.ofNullable(rs.getString("snapshot_id")), Optional.ofNullable(rs.getString("snapshot_net_id")));
  }

  /**
   * Makes {@code next} the template's current snapshot (the one with a network device if
   * {@code network}) if {@code expected} still is (empty: none is recorded): compare-and-set, so of
   * two nodes or threads that read the same current snapshot, exactly one replaces it. False (and
   * no change) if another one is current now or there is no such template.
   */
  public boolean switchSnapshot(String name, boolean network, Optional<String> expected, String next) {
    String column = network ? "snapshot_net_id" : "snapshot_id";
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE templates SET " + column + " = ? WHERE name = ? AND "
          + (expected.isPresent() ? column + " = ?" : column + " IS NULL"))) {
        p.setString(1, next);
        p.setString(2, name);
        if (expected.isPresent()) p.setString(3, expected.get());
        return p.executeUpdate() == 1;
      }
    });
  }

  /** Moves the template from status {@code from} to {@code to}; false (and no change) if it is not in {@code from}. */
  public boolean updateStatus(String name, String from, String to, Instant now) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE templates SET status = ?, updated_at = ? WHERE name = ? AND status = ?")) {
        p.setString(1, to);
        p.setLong(2, now.toEpochMilli());
        p.setString(3, name);
        p.setString(4, from);
        return p.executeUpdate() == 1;
      }
    });
  }

  /** Builds a daemon restart interrupted can never finish: they become FAILED with this reason. */
  public int failUnfinished(String reason, Instant now) {
    return db.inTransaction(c -> {
      // A snapshot the restart interrupted: the template itself is built, and is snapshotted again (or not) by the new daemon.
      try (PreparedStatement p = c.prepareStatement("UPDATE templates SET status = 'READY', updated_at = ? WHERE status = 'SNAPSHOTTING'")) {
        p.setLong(1, now.toEpochMilli());
        p.executeUpdate();
      }
      try (PreparedStatement p = c.prepareStatement("UPDATE templates SET status = 'FAILED', error = ?, updated_at = ? "
          + "WHERE status NOT IN ('READY', 'FAILED')")) {
        p.setString(1, reason);
        p.setLong(2, now.toEpochMilli());
        return p.executeUpdate();
      }
    });
  }
}
