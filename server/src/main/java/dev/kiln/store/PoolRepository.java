package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

/** The {@code pools} table: each template's warm-pool size. */
public final class PoolRepository {
  private final Database db;

  /** A pool's configured size. */
  public record PoolRow(String template, int minReady, int maxReady) {}

  public PoolRepository(Database db) {
    this.db = db;
  }

  public void upsert(PoolRow r) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO pools (template, min_ready, max_ready) VALUES (?,?,?) "
          + "ON CONFLICT(template) DO UPDATE SET min_ready = excluded.min_ready, max_ready = excluded.max_ready")) {
        p.setString(1, r.template());
        p.setInt(2, r.minReady());
        p.setInt(3, r.maxReady());
        return p.executeUpdate();
      }
    });
  }

  public void delete(String template) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM pools WHERE template = ?")) {
        p.setString(1, template);
        return p.executeUpdate();
      }
    });
  }

  public List<PoolRow> all() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT template, min_ready, max_ready FROM pools ORDER BY template");
           ResultSet rs = p.executeQuery()) {
        List<PoolRow> out = new ArrayList<>();
        while (rs.next()) out.add(new PoolRow(rs.getString(1), rs.getInt(2), rs.getInt(3)));
        return out;
      }
    });
  }
}
