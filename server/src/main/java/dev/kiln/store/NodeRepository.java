package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The {@code nodes} table. Every change is one statement: a heartbeat and a liveness check never overwrite each other's fields. */
public final class NodeRepository {
  private static final String COLUMNS = "id, name, api_url, role, state, cordoned, capacity_json, registered_at, heartbeat_at, down_reason, credential, proxy_url, labels_json";
  private final Database db;

  public NodeRepository(Database db) {
    this.db = db;
  }

  /**
   * A node (re)starting: inserted, or its address, role and capacity replaced and its state UP.
   * Its cordon is kept: an operator's decision outlives a restart.
   */
  public void register(NodeRow r) {
    db.inTransaction(c -> {
      boolean wasDown = wasDown(c, r.id());
      try (PreparedStatement p = c.prepareStatement("INSERT INTO nodes (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,NULL,?,?,?) "
          + "ON CONFLICT (id) DO UPDATE SET name = excluded.name, api_url = excluded.api_url, role = excluded.role, state = excluded.state, "
          + "capacity_json = excluded.capacity_json, heartbeat_at = excluded.heartbeat_at, down_reason = NULL, credential = excluded.credential, "
          + "proxy_url = excluded.proxy_url, labels_json = excluded.labels_json")) {
        p.setString(1, r.id());
        p.setString(2, r.name());
        p.setString(3, r.apiUrl());
        p.setString(4, r.role());
        p.setString(5, r.state());
        p.setInt(6, r.cordoned() ? 1 : 0);
        p.setString(7, r.capacityJson());
        p.setLong(8, r.registeredAt().toEpochMilli());
        p.setLong(9, r.heartbeatAt().toEpochMilli());
        p.setString(10, r.credential().orElse(null));
        p.setString(11, r.proxyUrl().orElse(null));
        p.setString(12, r.labelsJson());
        p.executeUpdate();
      }
      // A node that was down and registers again has its sandboxes back (those its recovery adopts).
      return wasDown ? noteSandboxes(c, r.id(), "found", "its node " + r.name() + " registered again") : 0;
    });
  }

  /**
   * A heartbeat: the node's capacity now, and it is UP (again). Returns false if the node has no
   * row (deleted by an operator): it must register again.
   */
  public boolean heartbeat(String id, String capacityJson, Instant at) {
    return db.inTransaction(c -> {
      if (wasDown(c, id)) noteSandboxes(c, id, "found", "its node " + id + " reports again");
      try (PreparedStatement p = c.prepareStatement("UPDATE nodes SET capacity_json = ?, heartbeat_at = ?, state = 'UP', down_reason = NULL WHERE id = ?")) {
        p.setString(1, capacityJson);
        p.setLong(2, at.toEpochMilli());
        p.setString(3, id);
        return p.executeUpdate() == 1;
      }
    });
  }

  /** Marks UP nodes whose last heartbeat is before {@code staleBefore} DOWN; returns the ids it marked. */
  public List<String> markDownIfSilentSince(Instant staleBefore, String reason) {
    return db.inTransaction(c -> {
      List<String> stale = new ArrayList<>();
      try (PreparedStatement q = c.prepareStatement("SELECT id FROM nodes WHERE state = 'UP' AND heartbeat_at < ?")) {
        q.setLong(1, staleBefore.toEpochMilli());
        try (ResultSet rs = q.executeQuery()) {
          while (rs.next()) stale.add(rs.getString(1));
        }
      }
      List<String> marked = new ArrayList<>();
      // Compare-and-set per node: a heartbeat that lands between the read and this write wins.
      try (PreparedStatement u = c.prepareStatement("UPDATE nodes SET state = 'DOWN', down_reason = ? WHERE id = ? AND state = 'UP' AND heartbeat_at < ?")) {
        for (String id : stale) {
          u.setString(1, reason);
          u.setString(2, id);
          u.setLong(3, staleBefore.toEpochMilli());
          if (u.executeUpdate() == 1) marked.add(id);
        }
      }
      for (String id : marked) noteSandboxes(c, id, "lost", "its node " + id + " is down: " + reason + "; nothing reaches it until the node is back");
      return marked;
    });
  }

  /** Marks one node DOWN with the reason (a node stopping says so itself). */
  public void markDown(String id, String reason) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE nodes SET state = 'DOWN', down_reason = ? WHERE id = ? AND state = 'UP'")) {
        p.setString(1, reason);
        p.setString(2, id);
        if (p.executeUpdate() == 0) return 0;
      }
      return noteSandboxes(c, id, "lost", "its node " + id + " is down: " + reason + "; nothing reaches it until the node is back");
    });
  }

  /** The node's drain progress as its node last wrote it (JSON); replaces the last drain's. */
  public void recordDrain(String nodeId, String drainJson) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO node_drains (node_id, drain_json, updated_at) VALUES (?, ?, ?) "
          + "ON CONFLICT (node_id) DO UPDATE SET drain_json = excluded.drain_json, updated_at = excluded.updated_at")) {
        p.setString(1, nodeId);
        p.setString(2, drainJson);
        p.setLong(3, System.currentTimeMillis());
        return p.executeUpdate();
      }
    });
  }

  /** The node's last drain, if it was ever drained. */
  public Optional<String> drainOf(String nodeId) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT drain_json FROM node_drains WHERE node_id = ?")) {
        p.setString(1, nodeId);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  /** Sets the node's cordon; false if there is no such node. */
  public boolean setCordoned(String id, boolean cordoned) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE nodes SET cordoned = ? WHERE id = ?")) {
        p.setInt(1, cordoned ? 1 : 0);
        p.setString(2, id);
        return p.executeUpdate() == 1;
      }
    });
  }

  public Optional<NodeRow> find(String id) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM nodes WHERE id = ?")) {
        p.setString(1, id);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(read(rs)) : Optional.<NodeRow>empty();
        }
      }
    });
  }

  public List<NodeRow> all() {
    return db.read(NodeRepository::all);
  }

  private static List<NodeRow> all(Connection c) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM nodes ORDER BY name, id"); ResultSet rs = p.executeQuery()) {
      List<NodeRow> out = new ArrayList<>();
      while (rs.next()) out.add(read(rs));
      return out;
    }
  }

  private static boolean wasDown(Connection c, String id) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT state FROM nodes WHERE id = ?")) {
      p.setString(1, id);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() && rs.getString(1).equals("DOWN");
      }
    }
  }

  /** An event for every sandbox the node runs, in the caller's transaction (a node going down or coming back). */
  private static int noteSandboxes(Connection c, String nodeId, String kind, String message) throws SQLException {
    List<String> ids = new ArrayList<>();
    try (PreparedStatement p = c.prepareStatement("SELECT id FROM sandboxes WHERE node_id = ?")) {
      p.setString(1, nodeId);
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) ids.add(rs.getString(1));
      }
    }
    for (String id : ids) EventRepository.append(c, id, new EventRepository.Note(kind, message));
    return ids.size();
  }

  private static NodeRow read(ResultSet rs) throws SQLException {
    return new NodeRow(rs.getString("id"), rs.getString("name"), rs.getString("api_url"), rs.getString("role"), rs.getString("state"),
        rs.getInt("cordoned") == 1, rs.getString("capacity_json"), Instant.ofEpochMilli(rs.getLong("registered_at")),
        Instant.ofEpochMilli(rs.getLong("heartbeat_at")), Optional.ofNullable(rs.getString("down_reason")), Optional.ofNullable(rs.getString("credential")),
        Optional.ofNullable(rs.getString("proxy_url")), rs.getString("labels_json"));
  }
}
