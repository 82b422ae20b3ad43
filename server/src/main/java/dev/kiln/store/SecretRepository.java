package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;

/** Secrets shared by every daemon of a store, each written once: the first writer's value is everyone's. */
public final class SecretRepository {
  private final Database db;

  public SecretRepository(Database db) {
    this.db = db;
  }

  /** The secret named {@code name}: the stored one, or {@code candidate} if none was stored yet (then it is). */
  public String getOrPut(String name, String candidate) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO cluster_secrets (name, value) VALUES (?,?) ON CONFLICT (name) DO NOTHING")) {
        p.setString(1, name);
        p.setString(2, candidate);
        p.executeUpdate();
      }
      try (PreparedStatement p = c.prepareStatement("SELECT value FROM cluster_secrets WHERE name = ?")) {
        p.setString(1, name);
        try (ResultSet r = p.executeQuery()) {
          if (!r.next()) throw new StoreException("secret " + name + " is missing right after it was written", null);
          return r.getString(1);
        }
      }
    });
  }
}
