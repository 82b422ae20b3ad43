package dev.kiln.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Per-key limits (the {@code max_*} columns of {@code api_keys}), checked inside the transaction
 * that adds to what a key holds, against the rows it holds there: so two requests cannot both take
 * the last place (SQLite has one writer; PostgreSQL's SERIALIZABLE writers re-run the one that
 * loses, which then counts the other's row). A sandbox counts in every state: a paused one keeps
 * its place, so that resuming it never fails on a limit its creation passed (docs/adr/0022).
 * An owner with no key row (a sandbox from before owners, the daemon's KILN_API_KEY) has no limits.
 */
final class KeyQuotas {
  private KeyQuotas() {}

  static void admitSandboxes(Connection c, String owner, int sandboxes, long vcpus, long memoryMib) throws SQLException {
    Optional<ApiKeyRow> key = keyOf(c, owner);
    if (key.isEmpty() || (key.get().maxSandboxes().isEmpty() && key.get().maxVcpus().isEmpty() && key.get().maxMemoryMib().isEmpty())) return;
    try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*), COALESCE(SUM(vcpus), 0), COALESCE(SUM(memory_mib), 0) FROM sandboxes WHERE owner = ?")) {
      p.setString(1, owner);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        check("sandboxes", key.get().maxSandboxes(), rs.getLong(1), sandboxes);
        check("vCPUs", key.get().maxVcpus(), rs.getLong(2), vcpus);
        check("MiB of memory", key.get().maxMemoryMib(), rs.getLong(3), memoryMib);
      }
    }
  }

  static void admitTemplate(Connection c, String owner) throws SQLException {
    Optional<ApiKeyRow> key = keyOf(c, owner);
    if (key.isEmpty() || key.get().maxTemplates().isEmpty()) return;
    try (PreparedStatement p = c.prepareStatement("SELECT COUNT(*) FROM templates WHERE owner = ?")) {
      p.setString(1, owner);
      try (ResultSet rs = p.executeQuery()) {
        rs.next();
        check("templates", key.get().maxTemplates(), rs.getLong(1), 1);
      }
    }
  }

  /** The owner's key row; none for an owner without one (before owners, KILN_API_KEY): no limits. */
  private static Optional<ApiKeyRow> keyOf(Connection c, String owner) throws SQLException {
    return owner.isEmpty() ? Optional.empty() : ApiKeyRepository.findIn(c, owner);
  }

  private static void check(String what, OptionalLong limit, long held, long asked) {
    if (limit.isPresent() && asked > 0 && held + asked > limit.getAsLong()) throw new QuotaExceededException(what, limit.getAsLong(), held, asked);
  }
}
