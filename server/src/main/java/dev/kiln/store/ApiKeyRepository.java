package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;

/** The {@code api_keys} table: only SHA-256 hashes of keys are stored. */
public final class ApiKeyRepository {
  private final Database db;

  public ApiKeyRepository(Database db) {
    this.db = db;
  }

  public void insert(String id, String sha256Hex, String name, Instant createdAt) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO api_keys (id, sha256, name, created_at) VALUES (?,?,?,?)")) {
        p.setString(1, id);
        p.setString(2, sha256Hex);
        p.setString(3, name);
        p.setLong(4, createdAt.toEpochMilli());
        return p.executeUpdate();
      }
    });
  }

  public boolean existsHash(String sha256Hex) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT 1 FROM api_keys WHERE sha256 = ?")) {
        p.setString(1, sha256Hex);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next();
        }
      }
    });
  }

  public int count() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM api_keys"); ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    });
  }
}
