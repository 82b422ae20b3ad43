package dev.kiln.store;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The {@code sandbox_networks} table. */
public final class NetworkRepository {
  private final Database db;

  public NetworkRepository(Database db) {
    this.db = db;
  }

  public void insert(NetworkRow r) {
    db.inTransaction(c -> insert(c, r));
  }

  /** The insert inside a caller's transaction (a migration's commit). */
  static int insert(java.sql.Connection c, NetworkRow r) throws java.sql.SQLException {
    // The slot is the node's that runs the sandbox: the row carries its node, for the per-node UNIQUE.
    try (PreparedStatement p = c.prepareStatement("INSERT INTO sandbox_networks (sandbox_id, node_id, slot, spec_json, access_token, forwards_json) "
        + "SELECT ?, node_id, ?, ?, ?, ? FROM sandboxes WHERE id = ?")) {
      p.setString(1, r.sandboxId());
      p.setInt(2, r.slot());
      p.setString(3, r.specJson());
      p.setString(4, r.accessToken().orElse(null));
      p.setString(5, r.forwardsJson());
      p.setString(6, r.sandboxId());
      if (p.executeUpdate() != 1) throw new StoreException("no sandbox " + r.sandboxId() + " for its network row", null);
      return 1;
    }
  }

  public void updateSpec(String sandboxId, String specJson) {
    update("UPDATE sandbox_networks SET spec_json = ? WHERE sandbox_id = ?", specJson, sandboxId);
  }

  public void updateForwards(String sandboxId, String forwardsJson) {
    update("UPDATE sandbox_networks SET forwards_json = ? WHERE sandbox_id = ?", forwardsJson, sandboxId);
  }

  public void delete(String sandboxId) {
    update("DELETE FROM sandbox_networks WHERE sandbox_id = ?", sandboxId);
  }

  private void update(String sql, String... args) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement(sql)) {
        for (int i = 0; i < args.length; i++) p.setString(i + 1, args[i]);
        return p.executeUpdate();
      }
    });
  }

  public Optional<NetworkRow> find(String sandboxId) {
    List<NetworkRow> rows = select("WHERE sandbox_id = ?", sandboxId);
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
  }

  public List<NetworkRow> all() {
    return select("");
  }

  /** The networks of one node's sandboxes: the slots it has given out. */
  public List<NetworkRow> allOn(String nodeId) {
    return select("WHERE node_id = ?", nodeId);
  }

  private List<NetworkRow> select(String where, String... args) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT sandbox_id, slot, spec_json, access_token, forwards_json FROM sandbox_networks " + where)) {
        for (int i = 0; i < args.length; i++) p.setString(i + 1, args[i]);
        try (ResultSet rs = p.executeQuery()) {
          List<NetworkRow> out = new ArrayList<>();
          while (rs.next()) {
            out.add(new NetworkRow(rs.getString(1), rs.getInt(2), rs.getString(3), Optional.ofNullable(rs.getString(4)), rs.getString(5)));
          }
          return out;
        }
      }
    });
  }
}
