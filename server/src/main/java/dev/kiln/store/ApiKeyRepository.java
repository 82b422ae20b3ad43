package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** The {@code api_keys} table: only SHA-256 hashes of keys are stored. */
public final class ApiKeyRepository {
  private static final String COLUMNS = "id, name, role, prefix, created_at, revoked_at, max_sandboxes, max_vcpus, max_memory_mib, max_templates";
  private final Database db;

  public ApiKeyRepository(Database db) {
    this.db = db;
  }

  public void insert(ApiKeyRow r, String sha256Hex) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO api_keys (" + COLUMNS + ", sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?)")) {
        p.setString(1, r.id());
        p.setString(2, r.name());
        p.setString(3, r.role());
        p.setString(4, r.prefix());
        p.setLong(5, r.createdAt().toEpochMilli());
        SandboxRepository.setOptionalLong(p, 6, r.revokedAt().map(t -> OptionalLong.of(t.toEpochMilli())).orElse(OptionalLong.empty()));
        SandboxRepository.setOptionalLong(p, 7, r.maxSandboxes());
        SandboxRepository.setOptionalLong(p, 8, r.maxVcpus());
        SandboxRepository.setOptionalLong(p, 9, r.maxMemoryMib());
        SandboxRepository.setOptionalLong(p, 10, r.maxTemplates());
        p.setString(11, sha256Hex);
        return p.executeUpdate();
      }
    });
  }

  /** The key with this hash, unless it is revoked: read on every request, so a revocation holds from the next one. */
  public Optional<ApiKeyRow> findActiveByHash(String sha256Hex) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM api_keys WHERE sha256 = ? AND revoked_at IS NULL")) {
        p.setString(1, sha256Hex);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(read(rs)) : Optional.<ApiKeyRow>empty();
        }
      }
    });
  }

  public Optional<ApiKeyRow> find(String id) {
    return db.read(c -> findIn(c, id));
  }

  static Optional<ApiKeyRow> findIn(java.sql.Connection c, String id) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM api_keys WHERE id = ?")) {
      p.setString(1, id);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  public List<ApiKeyRow> all() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM api_keys ORDER BY created_at, id"); ResultSet rs = p.executeQuery()) {
        List<ApiKeyRow> out = new ArrayList<>();
        while (rs.next()) out.add(read(rs));
        return out;
      }
    });
  }

  /** Revokes the key if it is not revoked yet; false if it was, or is unknown. */
  public boolean revoke(String id, Instant at) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")) {
        p.setLong(1, at.toEpochMilli());
        p.setString(2, id);
        return p.executeUpdate() == 1;
      }
    });
  }

  /** Keys that are not revoked. */
  public int countActive() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL"); ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    });
  }

  private static ApiKeyRow read(ResultSet rs) throws SQLException {
    long revoked = rs.getLong("revoked_at");
    Optional<Instant> revokedAt = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(revoked));
    return new ApiKeyRow(rs.getString("id"), rs.getString("name"), rs.getString("role"), rs.getString("prefix"),
        Instant.ofEpochMilli(rs.getLong("created_at")), revokedAt, optional(rs, "max_sandboxes"), optional(rs, "max_vcpus"),
        optional(rs, "max_memory_mib"), optional(rs, "max_templates"));
  }

  private static OptionalLong optional(ResultSet rs, String column) throws SQLException {
    long v = rs.getLong(column);
    return rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(v);
  }
}
