package dev.kiln.store;

import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The {@code leases} table: which daemon leads a cluster job. Taking or renewing a lease is one
 * upsert whose update only applies if the caller holds the lease or it has expired, so of two
 * daemons asking at once exactly one gets it (PostgreSQL locks the conflicting row for the
 * update; SQLite has one writer). Expiry compares the callers' clocks: daemons of one cluster are
 * expected to keep them within a fraction of the lease (NTP).
 */
public final class LeaseRepository {
  private final Database db;

  public LeaseRepository(Database db) {
    this.db = db;
  }

  /** Takes the lease for {@code ttl} if it is free, expired or already {@code holder}'s; returns whether {@code holder} holds it now. */
  public boolean acquire(String name, String holder, Instant now, Duration ttl) {
    return db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO leases (name, holder, expires_at) VALUES (?,?,?) "
          + "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
          + "WHERE leases.holder = excluded.holder OR leases.expires_at < ?")) {
        p.setString(1, name);
        p.setString(2, holder);
        p.setLong(3, now.plus(ttl).toEpochMilli());
        p.setLong(4, now.toEpochMilli());
        return p.executeUpdate() == 1;
      }
    });
  }

  /** Gives the lease up if {@code holder} has it (a daemon stopping), so another takes over at once rather than after expiry. */
  public void release(String name, String holder) {
    db.inTransaction(c -> {
      try (PreparedStatement p = c.prepareStatement("DELETE FROM leases WHERE name = ? AND holder = ?")) {
        p.setString(1, name);
        p.setString(2, holder);
        return p.executeUpdate();
      }
    });
  }

  /** A lease as stored. */
  public record Lease(String name, String holder, Instant expiresAt) {}

  /** Every lease still held at {@code now}, by job name. */
  public java.util.List<Lease> held(Instant now) {
    return db.read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT name, holder, expires_at FROM leases WHERE expires_at >= ? ORDER BY name")) {
        p.setLong(1, now.toEpochMilli());
        try (var rs = p.executeQuery()) {
          java.util.List<Lease> out = new java.util.ArrayList<>();
          while (rs.next()) out.add(new Lease(rs.getString(1), rs.getString(2), Instant.ofEpochMilli(rs.getLong(3))));
          return out;
        }
      }
    });
  }
}
