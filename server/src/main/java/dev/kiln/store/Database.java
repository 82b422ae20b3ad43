package dev.kiln.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The embedded SQLite database: one writer connection, used under a lock (SQLite serializes
 * writers anyway), and a small pool of read-only connections, so a read never waits for a write
 * transaction: in WAL mode a reader sees the last commit while the writer works. Every connection
 * runs with synchronous=FULL (a committed transaction survives a power cut) and foreign_keys=ON.
 * The schema is brought up to date by {@link Migrations} before the pools open.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  /** Read connections: the API's GETs and the daemon's scans are short; a few cover two cores, each costs a file handle and a page cache. */
  private static final int READERS = 4;
  /** A second process (the CLI's `template import`) may hold the write lock for a moment. */
  private static final int BUSY_TIMEOUT_MS = 5000;

  private final HikariDataSource writer;
  private final HikariDataSource readers;
  private final ReentrantLock writeLock = new ReentrantLock();

  private Database(HikariDataSource writer, HikariDataSource readers) {
    this.writer = writer;
    this.readers = readers;
  }

  public static Database open(Path file) throws SQLException {
    String url = "jdbc:sqlite:" + file;
    Migrations.apply(source(url, Role.MIGRATION));
    HikariDataSource writer = pool("kiln-db-writer", source(url, Role.WRITER), 1, false);
    try {
      return new Database(writer, pool("kiln-db-readers", source(url, Role.READER), READERS, true));
    } catch (SQLException | RuntimeException e) {
      writer.close();
      throw e;
    }
  }

  private enum Role { MIGRATION, WRITER, READER }

  private static SQLiteDataSource source(String url, Role role) {
    SQLiteConfig config = new SQLiteConfig();
    config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
    config.setBusyTimeout(BUSY_TIMEOUT_MS);
    // Migrations remake tables, which with foreign keys on would cascade deletes (Migrations.apply).
    config.enforceForeignKeys(role != Role.MIGRATION);
    if (role == Role.READER) {
      config.setReadOnly(true);
    } else {
      config.setJournalMode(SQLiteConfig.JournalMode.WAL);
      // The write lock is taken at BEGIN, not at the first write: a transaction that read first cannot fail to upgrade.
      config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    }
    SQLiteDataSource ds = new SQLiteDataSource(config);
    ds.setUrl(url);
    return ds;
  }

  private static HikariDataSource pool(String name, SQLiteDataSource source, int size, boolean readOnly) throws SQLException {
    HikariConfig c = new HikariConfig();
    // The pool sets this flag on each connection it hands out; SQLite fixes it at open (source()), so the two must agree.
    c.setReadOnly(readOnly);
    c.setPoolName(name);
    c.setDataSource(source);
    c.setMaximumPoolSize(size);
    c.setMinimumIdle(size);
    try {
      return new HikariDataSource(c);
    } catch (HikariPool.PoolInitializationException e) {
      throw new SQLException("cannot open the database: " + e.getMessage(), e);
    }
  }

  /** Work that runs inside one transaction. */
  public interface TxWork<T> {
    T run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code work} in a write transaction: committed if it returns, rolled back if it throws.
   * This is how one operation writes several tables at once, and how a read-modify-write stays
   * whole: no other write comes between its read and its write.
   */
  public <T> T inTransaction(TxWork<T> work) {
    if (writeLock.isHeldByCurrentThread()) {
      // Nested, the inner commit would commit the outer transaction's work early.
      throw new IllegalStateException("a write transaction was opened inside another; pass the Connection down instead");
    }
    writeLock.lock();
    try (Connection c = writer.getConnection()) {
      return run(c, work);
    } catch (SQLException e) {
      throw new StoreException("database error: " + e.getMessage(), e);
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * Runs {@code work} on a read-only connection, in one read transaction (it sees one snapshot:
   * the last commit before it began). It neither waits for nor blocks a write transaction.
   */
  public <T> T read(TxWork<T> work) {
    if (writeLock.isHeldByCurrentThread()) {
      // Another connection would not see the open transaction's own writes.
      throw new IllegalStateException("a read was started inside a write transaction; read through its Connection instead");
    }
    try (Connection c = readers.getConnection()) {
      return run(c, work);
    } catch (SQLException e) {
      throw new StoreException("database error: " + e.getMessage(), e);
    }
  }

  private static <T> T run(Connection c, TxWork<T> work) throws SQLException {
    c.setAutoCommit(false);
    try {
      T result = work.run(c);
      c.commit();
      return result;
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  @Override
  public void close() {
    readers.close();
    writeLock.lock();
    try {
      writer.close();
    } catch (RuntimeException e) {
      log.warn("closing database: {}", e.toString());
    } finally {
      writeLock.unlock();
    }
  }
}
