package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The {@code audit_log} table: appended to in chains, never updated, read in order. */
public final class AuditRepository {
  private static final String COLUMNS = "chain, seq, at, actor, action, sandbox_id, status, detail_json, prev_hash, hash";
  private final Database db;

  public AuditRepository(Database db) {
    this.db = db;
  }

  /** Builds the records that follow a chain's last one; called with the last (empty for a new chain) inside the append's transaction. */
  public interface Continuation {
    List<AuditRow> after(Optional<AuditRow> last);
  }

  /**
   * Appends to {@code chain} in one transaction what {@code next} builds from its last record, and
   * returns the records appended. {@code next} may run more than once (a PostgreSQL writer that
   * lost is re-run), so it must only compute.
   */
  public List<AuditRow> append(String chain, Continuation next) {
    return db.inTransaction(c -> {
      List<AuditRow> rows = next.after(last(c, chain));
      try (PreparedStatement p = c.prepareStatement("INSERT INTO audit_log (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?)")) {
        for (AuditRow r : rows) {
          p.setString(1, r.chain());
          p.setLong(2, r.seq());
          p.setLong(3, r.atMillis());
          p.setString(4, r.actor());
          p.setString(5, r.action());
          p.setString(6, r.sandboxId());
          p.setInt(7, r.status());
          p.setString(8, r.detailJson());
          p.setString(9, r.prevHash());
          p.setString(10, r.hash());
          p.addBatch();
        }
        p.executeBatch();
      }
      return rows;
    });
  }

  public Optional<AuditRow> last(String chain) {
    return db.read(c -> last(c, chain));
  }

  private static Optional<AuditRow> last(Connection c, String chain) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM audit_log WHERE chain = ? ORDER BY seq DESC LIMIT 1")) {
      p.setString(1, chain);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  /** Every chain's name. */
  public List<String> chains() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT DISTINCT chain FROM audit_log ORDER BY chain"); ResultSet rs = p.executeQuery()) {
        List<String> out = new ArrayList<>();
        while (rs.next()) out.add(rs.getString(1));
        return out;
      }
    });
  }

  /** Up to {@code limit} records of one chain after {@code afterSeq}, in order: how a verification walks it. */
  public List<AuditRow> page(String chain, long afterSeq, int limit) {
    return select("WHERE chain = ? AND seq > ? ORDER BY seq LIMIT ?", p -> {
      p.setString(1, chain);
      p.setLong(2, afterSeq);
      p.setInt(3, limit);
    });
  }

  /** Up to {@code limit} records at or after {@code sinceMillis} (of one sandbox, if given), oldest first. */
  public List<AuditRow> find(Optional<String> sandboxId, long sinceMillis, int limit) {
    return select("WHERE at >= ?" + (sandboxId.isPresent() ? " AND sandbox_id = ?" : "") + " ORDER BY at, chain, seq LIMIT ?", p -> {
      int i = 1;
      p.setLong(i++, sinceMillis);
      if (sandboxId.isPresent()) p.setString(i++, sandboxId.get());
      p.setInt(i, limit);
    });
  }

  private interface Binder {
    void bind(PreparedStatement p) throws SQLException;
  }

  private List<AuditRow> select(String where, Binder binder) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM audit_log " + where)) {
        binder.bind(p);
        try (ResultSet rs = p.executeQuery()) {
          List<AuditRow> out = new ArrayList<>();
          while (rs.next()) out.add(read(rs));
          return out;
        }
      }
    });
  }

  private static AuditRow read(ResultSet rs) throws SQLException {
    return new AuditRow(rs.getString("chain"), rs.getLong("seq"), rs.getLong("at"), rs.getString("actor"), rs.getString("action"),
        rs.getString("sandbox_id"), rs.getInt("status"), rs.getString("detail_json"), rs.getString("prev_hash"), rs.getString("hash"));
  }
}
