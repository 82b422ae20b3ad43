package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/** The {@code sandbox_tombstones} table: sandboxes that are gone, remembered (with their events) for a while. */
public final class TombstoneRepository {
  private final Database db;

  public TombstoneRepository(Database db) {
    this.db = db;
  }

  /**
   * In one transaction: the sandbox's last event (why it went) is appended, its row goes (its
   * checkpoints and network row with it), its tombstone comes; its events stay.
   */
  public void bury(TombstoneRow t, EventRepository.Note lastWords) {
    db.inTransaction(c -> {
      EventRepository.append(c, t.id(), lastWords);
      return bury(c, t);
    });
  }

  private static int bury(Connection c, TombstoneRow t) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("INSERT INTO sandbox_tombstones "
        + "(id, template, reason, created_at, ended_at, expired_at, timeout_seconds, purge_at, owner) "
        // The owner is the row's, copied before it goes: a deleted sandbox's id tells another key nothing either.
        + "VALUES (?,?,?,?,?,?,?,?, COALESCE((SELECT owner FROM sandboxes WHERE id = ?), '')) "
        + "ON CONFLICT (id) DO UPDATE SET template = excluded.template, reason = excluded.reason, created_at = excluded.created_at, "
        + "ended_at = excluded.ended_at, expired_at = excluded.expired_at, timeout_seconds = excluded.timeout_seconds, purge_at = excluded.purge_at")) {
      p.setString(1, t.id());
      p.setString(2, t.template());
      p.setString(3, t.reason());
      p.setLong(4, t.createdAt().toEpochMilli());
      p.setLong(5, t.endedAt().toEpochMilli());
      SandboxRepository.setOptionalLong(p, 6, t.expiredAt().map(i -> OptionalLong.of(i.toEpochMilli())).orElse(OptionalLong.empty()));
      p.setLong(7, t.timeoutSeconds());
      p.setLong(8, t.purgeAt().toEpochMilli());
      p.setString(9, t.id());
      p.executeUpdate();
    }
    try (PreparedStatement p = c.prepareStatement("DELETE FROM sandboxes WHERE id = ?")) {
      p.setString(1, t.id());
      return p.executeUpdate();
    }
  }

  public Optional<TombstoneRow> find(String id) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT id, template, reason, created_at, ended_at, expired_at, timeout_seconds, purge_at "
          + "FROM sandbox_tombstones WHERE id = ?")) {
        p.setString(1, id);
        try (ResultSet rs = p.executeQuery()) {
          if (!rs.next()) return Optional.<TombstoneRow>empty();
          long expired = rs.getLong("expired_at");
          Optional<Instant> expiredAt = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(expired));
          return Optional.of(new TombstoneRow(rs.getString("id"), rs.getString("template"), rs.getString("reason"),
              Instant.ofEpochMilli(rs.getLong("created_at")), Instant.ofEpochMilli(rs.getLong("ended_at")), expiredAt, rs.getLong("timeout_seconds"),
              Instant.ofEpochMilli(rs.getLong("purge_at"))));
        }
      }
    });
  }

  /** Removes the tombstones due by {@code now} and their events, in one transaction; returns how many went. */
  public int purge(Instant now) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement(
          "DELETE FROM sandbox_events WHERE sandbox_id IN (SELECT id FROM sandbox_tombstones WHERE purge_at <= ?)")) {
        p.setLong(1, now.toEpochMilli());
        p.executeUpdate();
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM sandbox_tombstones WHERE purge_at <= ?")) {
        p.setLong(1, now.toEpochMilli());
        return p.executeUpdate();
      }
    });
  }
}
