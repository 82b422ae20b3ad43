package dev.kiln.store;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded SQLite database. One connection, used under a lock: SQLite serializes writers
 * anyway, and one connection keeps transactions simple. WAL with synchronous=FULL: a committed
 * transaction survives a power cut, and readers do not block the writer.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  /** Numbered migrations in resources/db/sqlite; append, never edit a released one. */
  private static final String[] MIGRATIONS = {"V1__init.sql", "V2__template_images.sql", "V3__on_timeout.sql", "V4__checkpoints_events_pools.sql", "V5__networks.sql",
      "V6__tombstones.sql"};

  private final Connection conn;
  private final ReentrantLock lock = new ReentrantLock();

  private Database(Connection conn) {
    this.conn = conn;
  }

  public static Database open(Path file) throws SQLException {
    Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
    try (Statement s = c.createStatement()) {
      s.execute("PRAGMA journal_mode=WAL");
      s.execute("PRAGMA synchronous=FULL");
      s.execute("PRAGMA foreign_keys=ON");
      s.execute("PRAGMA busy_timeout=5000");
    }
    Database db = new Database(c);
    db.migrate();
    return db;
  }

  private void migrate() throws SQLException {
    inTransaction(c -> {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
      }
      int current = 0;
      try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COALESCE(MAX(version), 0) FROM schema_version")) {
        if (rs.next()) current = rs.getInt(1);
      }
      for (int v = current + 1; v <= MIGRATIONS.length; v++) {
        String sql = resource("/db/sqlite/" + MIGRATIONS[v - 1]);
        try (Statement s = c.createStatement()) {
          for (String stmt : sql.split(";\\s*\\n")) {
            String body = stmt.replaceAll("(?m)^--.*$", "").strip();
            if (!body.isEmpty()) s.execute(body);
          }
        }
        try (PreparedStatement p = c.prepareStatement("INSERT INTO schema_version VALUES (?, ?)")) {
          p.setInt(1, v);
          p.setLong(2, System.currentTimeMillis());
          p.executeUpdate();
        }
        log.info("database migrated to version={} file={}", v, MIGRATIONS[v - 1]);
      }
      return null;
    });
  }

  private static String resource(String name) throws SQLException {
    try (InputStream in = Database.class.getResourceAsStream(name)) {
      if (in == null) throw new SQLException("migration " + name + " missing from the classpath");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new SQLException("cannot read migration " + name, e);
    }
  }

  /** Work that runs inside one transaction. */
  public interface TxWork<T> {
    T run(Connection c) throws SQLException;
  }

  /** Runs {@code work} in a transaction: committed if it returns, rolled back if it throws. */
  public <T> T inTransaction(TxWork<T> work) {
    lock.lock();
    try {
      conn.setAutoCommit(false);
      try {
        T result = work.run(conn);
        conn.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        conn.rollback();
        throw e;
      } finally {
        conn.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new StoreException("database error: " + e.getMessage(), e);
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      conn.close();
    } catch (SQLException e) {
      log.warn("closing database: {}", e.toString());
    } finally {
      lock.unlock();
    }
  }
}
