package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The {@code sandbox_events} table: what happened to each sandbox, newest kept. */
public final class EventRepository {
  /** Events kept per sandbox: a sandbox paused every minute for a year must not grow the database without bound. */
  private static final int KEPT_PER_SANDBOX = 200;
  private final Database db;

  /** One event. */
  public record Event(long seq, String sandboxId, Instant at, String kind, String message) {}

  public EventRepository(Database db) {
    this.db = db;
  }

  /** What an event says; the store stamps the time and sequence. */
  public record Note(String kind, String message) {}

  public void append(String sandboxId, String kind, String message) {
    db.inTransaction(c -> {
      append(c, sandboxId, new Note(kind, message));
      return null;
    });
  }

  /** Appends inside a caller's transaction, so the event commits with the change it tells of. */
  static void append(Connection c, String sandboxId, Note note) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("INSERT INTO sandbox_events (sandbox_id, at, kind, message) VALUES (?,?,?,?)")) {
      p.setString(1, sandboxId);
      p.setLong(2, System.currentTimeMillis());
      p.setString(3, note.kind());
      p.setString(4, note.message());
      p.executeUpdate();
    }
    try (PreparedStatement p = c.prepareStatement("DELETE FROM sandbox_events WHERE sandbox_id = ? AND seq <= "
        + "(SELECT seq FROM sandbox_events WHERE sandbox_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)")) {
      p.setString(1, sandboxId);
      p.setString(2, sandboxId);
      p.setInt(3, KEPT_PER_SANDBOX);
      p.executeUpdate();
    }
  }

  /** Every sandbox's events after {@code seq}, oldest first, at most {@code limit}: what a live feed has not sent yet. */
  public List<Event> after(long seq, int limit) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT seq, sandbox_id, at, kind, message FROM sandbox_events WHERE seq > ? ORDER BY seq LIMIT ?")) {
        p.setLong(1, seq);
        p.setInt(2, limit);
        return events(p);
      }
    });
  }

  /** The newest event's sequence number, 0 with none: where a live feed starts. */
  public long lastSeq() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT COALESCE(MAX(seq), 0) FROM sandbox_events"); ResultSet rs = p.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    });
  }

  private static List<Event> events(PreparedStatement p) throws SQLException {
    try (ResultSet rs = p.executeQuery()) {
      List<Event> out = new ArrayList<>();
      while (rs.next()) {
        out.add(new Event(rs.getLong(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3)), rs.getString(4), rs.getString(5)));
      }
      return out;
    }
  }

  public List<Event> of(String sandboxId) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT seq, sandbox_id, at, kind, message FROM sandbox_events WHERE sandbox_id = ? ORDER BY seq")) {
        p.setString(1, sandboxId);
        return events(p);
      }
    });
  }
}
