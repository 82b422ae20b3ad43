package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Collectors;

/** The {@code sandboxes} table. */
public final class SandboxRepository {
  private static final String COLUMNS = "id, template, state, vcpus, memory_mib, timeout_seconds, env_json, metadata_json, vm_json, pid, error, created_at, expires_at, on_timeout, node_id, owner, template_version";
  private final Database db;

  public SandboxRepository(Database db) {
    this.db = db;
  }

  /**
   * Inserts a new sandbox's row, if its owner's key has room for it ({@link KeyQuotas}: checked in
   * the same transaction, so two creates cannot both take the last place).
   *
   * @throws QuotaExceededException the owner's key holds its limit already; nothing is written
   */
  public void insert(SandboxRow r) {
    insert(r, OptionalLong.empty(), Optional.empty());
  }

  /**
   * {@link #insert(SandboxRow)} of a sandbox whose VM runs already (a warm-pool VM taken over): its
   * root disk's size and its first event in the same transaction, so the row appears whole, once.
   */
  public void insert(SandboxRow r, OptionalLong rootDiskBytes, Optional<EventRepository.Note> event) {
    db.inTransaction(c -> {
      KeyQuotas.admitSandboxes(c, r.owner(), 1, r.vcpus(), r.memoryMib());
      insertRow(c, r);
      if (rootDiskBytes.isPresent()) setRootDiskBytes(c, r.id(), rootDiskBytes.getAsLong());
      if (event.isPresent()) EventRepository.append(c, r.id(), event.get());
      return 1;
    });
  }

  private static void insertRow(Connection c, SandboxRow r) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("INSERT INTO sandboxes (" + COLUMNS + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")) {
      p.setString(1, r.id());
      p.setString(2, r.template());
      p.setString(3, r.state());
      p.setInt(4, r.vcpus());
      p.setLong(5, r.memoryMib());
      p.setLong(6, r.timeoutSeconds());
      p.setString(7, r.envJson());
      p.setString(8, r.metadataJson());
      p.setString(9, r.vmJson().orElse(null));
      setOptionalLong(p, 10, r.pid());
      p.setString(11, r.error().orElse(null));
      p.setLong(12, r.createdAt().toEpochMilli());
      setOptionalLong(p, 13, r.expiresAt().map(i -> OptionalLong.of(i.toEpochMilli())).orElse(OptionalLong.empty()));
      p.setString(14, r.onTimeout());
      p.setString(15, r.nodeId());
      p.setString(16, r.owner());
      p.setInt(17, r.templateVersion());
      p.executeUpdate();
    }
  }

  /**
   * Whether the owner's key has room for {@code count} more sandboxes of this size, read without
   * taking it: for a request to be refused before it starts work. {@link #insert} decides.
   *
   * @throws QuotaExceededException it has not
   */
  public void checkRoom(String owner, int count, int vcpus, long memoryMib) {
    db.read(c -> {
      KeyQuotas.admitSandboxes(c, owner, count, (long) count * vcpus, count * memoryMib);
      return null;
    });
  }

  /**
   * A change of a sandbox's state, applied by compare-and-set: only while the row is still in
   * {@code from}. It sets the VM's spec, pid and error (an empty value clears them), may change the
   * expiry, and may append an event in the same transaction.
   */
  public record StateChange(String from, String to, Optional<String> vmJson, OptionalLong pid, Optional<String> error, ExpiryChange expiry,
      Optional<EventRepository.Note> event) {
    public StateChange withExpiry(ExpiryChange e) {
      return new StateChange(from, to, vmJson, pid, error, e, event);
    }

    public StateChange withEvent(String kind, String message) {
      return new StateChange(from, to, vmJson, pid, error, expiry, Optional.of(new EventRepository.Note(kind, message)));
    }
  }

  /** Whether a state change also sets (or clears, when {@code at} is empty) the expiry. */
  public record ExpiryChange(boolean change, Optional<Instant> at) {
    public static final ExpiryChange KEEP = new ExpiryChange(false, Optional.empty());

    public static ExpiryChange to(Optional<Instant> at) {
      return new ExpiryChange(true, at);
    }
  }

  /**
   * Applies {@code change} if the sandbox is still in {@code change.from()}; returns false (and
   * changes nothing) if it is not, or if the row is gone.
   */
  public boolean transition(String id, StateChange change) {
    return db.inTransaction(c -> {
      String sql = "UPDATE sandboxes SET state = ?, vm_json = ?, pid = ?, error = ?, version = version + 1" + (change.expiry().change() ? ", expires_at = ?" : "")
          + " WHERE id = ? AND state = ?";
      int changed;
      try (PreparedStatement p = c.prepareStatement(sql)) {
        int i = 1;
        p.setString(i++, change.to());
        p.setString(i++, change.vmJson().orElse(null));
        setOptionalLong(p, i++, change.pid());
        p.setString(i++, change.error().orElse(null));
        if (change.expiry().change()) {
          setOptionalLong(p, i++, change.expiry().at().map(t -> OptionalLong.of(t.toEpochMilli())).orElse(OptionalLong.empty()));
        }
        p.setString(i++, id);
        p.setString(i, change.from());
        changed = p.executeUpdate();
      }
      if (changed == 1 && change.event().isPresent()) EventRepository.append(c, id, change.event().get());
      return changed == 1;
    });
  }

  /**
   * Records the size a sandbox is about to grow to, before the hot-plug: growth counts against its
   * owner's key like a create, and is taken in the same transaction as it is checked.
   * {@link #updateSize} records what the plug achieved afterwards.
   *
   * @throws QuotaExceededException the owner's key has no room for the growth; nothing is written
   */
  public void reserveSize(String id, int vcpus, long memoryMib) {
    db.inTransaction(c -> {
      Optional<SandboxRow> now = findIn(c, id);
      if (now.isEmpty()) return 0;
      int moreVcpus = Math.max(0, vcpus - now.get().vcpus());
      long moreMemory = Math.max(0, memoryMib - now.get().memoryMib());
      KeyQuotas.admitSandboxes(c, now.get().owner(), 0, moreVcpus, moreMemory);
      return setSize(c, id, now.get().vcpus() + moreVcpus, now.get().memoryMib() + moreMemory);
    });
  }

  /** Records a sandbox's size after a hot-plug: its vCPUs and its memory in all (boot RAM and DIMMs). */
  public void updateSize(String id, int vcpus, long memoryMib) {
    db.inTransaction(c -> setSize(c, id, vcpus, memoryMib));
  }

  private static int setSize(Connection c, String id, int vcpus, long memoryMib) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET vcpus = ?, memory_mib = ? WHERE id = ?")) {
      p.setInt(1, vcpus);
      p.setLong(2, memoryMib);
      p.setString(3, id);
      return p.executeUpdate();
    }
  }

  /** Records the virtual size of the sandbox's root disk, so that {@link #list()} needs no look at the disk. */
  public void recordRootDiskBytes(String id, long bytes) {
    db.inTransaction(c -> setRootDiskBytes(c, id, bytes));
  }

  private static int setRootDiskBytes(Connection c, String id, long bytes) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET root_disk_bytes = ? WHERE id = ?")) {
      p.setLong(1, bytes);
      p.setString(2, id);
      return p.executeUpdate();
    }
  }

  /** The VM record of a sandbox that has no VM running (a paused one whose network changed). */
  public void recordVmJson(String id, String vmJson) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET vm_json = ? WHERE id = ?")) {
        p.setString(1, vmJson);
        p.setString(2, id);
        return p.executeUpdate();
      }
    });
  }

  /** Records the VM a sandbox now runs on (its spec and pid), leaving its state as it is. */
  public void recordVm(String id, String vmJson, long pid) {
    recordVm(id, vmJson, pid, OptionalLong.empty());
  }

  /** {@link #recordVm(String, String, long)} and, in the same write, its root disk's size when given. */
  public void recordVm(String id, String vmJson, long pid, OptionalLong rootDiskBytes) {
    db.inTransaction(c -> {
      String sql = "UPDATE sandboxes SET vm_json = ?, pid = ?" + (rootDiskBytes.isPresent() ? ", root_disk_bytes = ?" : "") + " WHERE id = ?";
      try (PreparedStatement p = c.prepareStatement(sql)) {
        int i = 1;
        p.setString(i++, vmJson);
        p.setLong(i++, pid);
        if (rootDiskBytes.isPresent()) p.setLong(i++, rootDiskBytes.getAsLong());
        p.setString(i, id);
        return p.executeUpdate();
      }
    });
  }

  public void updateExpiry(String id, long timeoutSeconds, Optional<Instant> expiresAt) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET timeout_seconds = ?, expires_at = ? WHERE id = ?")) {
        p.setLong(1, timeoutSeconds);
        setOptionalLong(p, 2, expiresAt.map(i -> OptionalLong.of(i.toEpochMilli())).orElse(OptionalLong.empty()));
        p.setString(3, id);
        return p.executeUpdate();
      }
    });
  }

  /** Deletes the sandbox and its events, leaving no tombstone (a create that failed, a discarded fork). */
  public void delete(String id) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM sandbox_events WHERE sandbox_id = ?")) {
        p.setString(1, id);
        p.executeUpdate();
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM sandboxes WHERE id = ?")) {
        p.setString(1, id);
        return p.executeUpdate();
      }
    });
  }

  public Optional<SandboxRow> find(String id) {
    return db.read(c -> findIn(c, id));
  }

  private static Optional<SandboxRow> findIn(Connection c, String id) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM sandboxes WHERE id = ?")) {
      p.setString(1, id);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  /**
   * The key that owns a sandbox, or owned it if only its tombstone is left: empty when the id is
   * unknown. What the API checks a caller against before any route runs.
   */
  public Optional<String> ownerOf(String id) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT owner FROM sandboxes WHERE id = ? UNION ALL SELECT owner FROM sandbox_tombstones WHERE id = ?")) {
        p.setString(1, id);
        p.setString(2, id);
        try (ResultSet rs = p.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.<String>empty();
        }
      }
    });
  }

  public List<SandboxRow> all() {
    return select("", Optional.empty());
  }

  /**
   * Moves a paused (or stopped) sandbox to another node, by compare-and-set on the node it was on (which must
   * still not be up and taking sandboxes: one that registered again meanwhile keeps its sandbox; a
   * cordoned one hands its paused sandboxes over when it drains) and its state:
   * its VM record is the new node's, its network row (the old node's slot) goes, and an event says
   * why, all in one transaction. False if the row is no longer paused (or stopped) on {@code from}.
   */
  public boolean moveToNode(String id, String from, String to, String vmJson, String event) {
    return db.inTransaction(c -> {
      // The version is not bumped: it names the pause whose state is being taken over, and stays that pause's.
      try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET node_id = ?, vm_json = ? "
          + "WHERE id = ? AND node_id = ? AND state IN ('PAUSED', 'STOPPED') AND NOT EXISTS (SELECT 1 FROM nodes WHERE id = ? AND state = 'UP' AND cordoned = 0)")) {
        p.setString(1, to);
        p.setString(2, vmJson);
        p.setString(3, id);
        p.setString(4, from);
        p.setString(5, from);
        if (p.executeUpdate() != 1) return false;
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM sandbox_networks WHERE sandbox_id = ?")) {
        p.setString(1, id);
        p.executeUpdate();
      }
      EventRepository.append(c, id, new EventRepository.Note("moved", event));
      return true;
    });
  }

  /**
   * The commit of a live migration, one transaction: the sandbox's row moves from node {@code from}
   * to {@code to} with the VM that runs it there, if it is still the row the migration started from
   * ({@code version}, compare-and-set; the source's rollback bumps it, so at most one side wins),
   * and its network row becomes the new node's slot with the same rules, token and forwards.
   */
  public boolean migrateTo(String id, String from, long version, String to, String vmJson, long pid, Optional<NetworkRow> network, String event) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET node_id = ?, vm_json = ?, pid = ?, version = version + 1 "
          + "WHERE id = ? AND node_id = ? AND version = ? AND state = 'RUNNING'")) {
        p.setString(1, to);
        p.setString(2, vmJson);
        p.setLong(3, pid);
        p.setString(4, id);
        p.setString(5, from);
        p.setLong(6, version);
        if (p.executeUpdate() != 1) return false;
      }
      try (PreparedStatement p = c.prepareStatement("DELETE FROM sandbox_networks WHERE sandbox_id = ?")) {
        p.setString(1, id);
        p.executeUpdate();
      }
      if (network.isPresent()) NetworkRepository.insert(c, network.get());
      EventRepository.append(c, id, new EventRepository.Note("migrated", event));
      return true;
    });
  }

  /**
   * Takes a sandbox back from a live migration that did not finish: bumps its version if the row is
   * still {@code node}'s at {@code version}, so that the target's commit, if it comes late, fails.
   * False: the target committed first (the sandbox runs there now).
   */
  public boolean keepFromMigration(String id, String node, long version, String event) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET version = version + 1 WHERE id = ? AND node_id = ? AND version = ?")) {
        p.setString(1, id);
        p.setString(2, node);
        p.setLong(3, version);
        if (p.executeUpdate() != 1) return false;
      }
      EventRepository.append(c, id, new EventRepository.Note("migration-failed", event));
      return true;
    });
  }

  /** How many sandboxes each node runs, by node id: what placement balances (heartbeats report it only every few seconds). */
  public java.util.Map<String, Integer> countByNode() {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT node_id, COUNT(*) FROM sandboxes GROUP BY node_id"); ResultSet rs = p.executeQuery()) {
        java.util.Map<String, Integer> out = new java.util.HashMap<>();
        while (rs.next()) out.put(rs.getString(1), rs.getInt(2));
        return out;
      }
    });
  }

  /** The sandboxes one node runs: what its recovery, collection and slots are about. */
  public List<SandboxRow> allOn(String nodeId) {
    return select("WHERE node_id = ? ", Optional.of(nodeId));
  }

  private List<SandboxRow> select(String where, Optional<String> arg) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM sandboxes " + where + "ORDER BY created_at, id")) {
        if (arg.isPresent()) p.setString(1, arg.get());
        try (ResultSet rs = p.executeQuery()) {
          List<SandboxRow> out = new ArrayList<>();
          while (rs.next()) out.add(read(rs));
          return out;
        }
      }
    });
  }

  /**
   * Makes the rows written before nodes (node_id '') this node's, with their network slots: on one
   * host they are its sandboxes. Returns how many it took.
   */
  public int claimUnowned(String nodeId) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("UPDATE sandbox_networks SET node_id = ? WHERE node_id = '' AND sandbox_id IN (SELECT id FROM sandboxes WHERE node_id = '')")) {
        p.setString(1, nodeId);
        p.executeUpdate();
      }
      try (PreparedStatement p = c.prepareStatement("UPDATE sandboxes SET node_id = ? WHERE node_id = ''")) {
        p.setString(1, nodeId);
        return p.executeUpdate();
      }
    });
  }

  /** Every sandbox with what its API view needs from the store (its network row, disk size, version), in one query. */
  public List<SandboxListRow> list() {
    return listWhere("", Optional.empty());
  }

  /** {@link #list()}'s row for one sandbox. */
  public Optional<SandboxListRow> findListed(String id) {
    List<SandboxListRow> rows = listWhere("WHERE s.id = ? ", Optional.of(id));
    return rows.isEmpty() ? Optional.empty() : Optional.of(rows.getFirst());
  }

  private List<SandboxListRow> listWhere(String where, Optional<String> id) {
    String columns = Arrays.stream(COLUMNS.split(", ")).map(col -> "s." + col).collect(Collectors.joining(", "));
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + columns + ", s.version, s.root_disk_bytes, "
          + "n.sandbox_id AS net_sandbox_id, n.slot AS net_slot, n.spec_json AS net_spec_json, n.access_token AS net_access_token, "
          + "n.forwards_json AS net_forwards_json, nd.state AS node_state FROM sandboxes s LEFT JOIN sandbox_networks n ON n.sandbox_id = s.id "
          + "LEFT JOIN nodes nd ON nd.id = s.node_id "
          + where + "ORDER BY s.created_at, s.id")) {
        if (id.isPresent()) p.setString(1, id.get());
        try (ResultSet rs = p.executeQuery()) {
          List<SandboxListRow> out = new ArrayList<>();
          while (rs.next()) {
            long disk = rs.getLong("root_disk_bytes");
            OptionalLong diskOpt = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(disk);
            Optional<NetworkRow> net = rs.getString("net_sandbox_id") == null ? Optional.empty()
                : Optional.of(new NetworkRow(rs.getString("net_sandbox_id"), rs.getInt("net_slot"), rs.getString("net_spec_json"),
                    Optional.ofNullable(rs.getString("net_access_token")), rs.getString("net_forwards_json")));
            out.add(new SandboxListRow(read(rs), rs.getLong("version"), diskOpt, net, "DOWN".equals(rs.getString("node_state"))));
          }
          return out;
        }
      }
    });
  }

  private static SandboxRow read(ResultSet rs) throws SQLException {
    long pid = rs.getLong("pid");
    OptionalLong pidOpt = rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(pid);
    long expires = rs.getLong("expires_at");
    Optional<Instant> expiresOpt = rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(expires));
    return new SandboxRow(rs.getString("id"), rs.getString("template"), rs.getString("state"), rs.getInt("vcpus"),
        rs.getLong("memory_mib"), rs.getLong("timeout_seconds"), rs.getString("env_json"), rs.getString("metadata_json"),
        Optional.ofNullable(rs.getString("vm_json")), pidOpt, Optional.ofNullable(rs.getString("error")),
        Instant.ofEpochMilli(rs.getLong("created_at")), expiresOpt, rs.getString("on_timeout"), rs.getString("node_id"), rs.getString("owner"),
        rs.getInt("template_version"));
  }

  static void setOptionalLong(PreparedStatement p, int index, OptionalLong v) throws SQLException {
    if (v.isPresent()) p.setLong(index, v.getAsLong());
    else p.setNull(index, Types.BIGINT);
  }
}
