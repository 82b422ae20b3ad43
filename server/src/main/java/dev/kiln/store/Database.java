package dev.kiln.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The store's connections: a writer pool and a pool of read-only connections, on one of two
 * databases ({@link Dialect}). Either way the schema is brought up to date by {@link Migrations}
 * before the pools open, and the contract of {@link #inTransaction} and {@link #read} is the same.
 *
 * <ul>
 *   <li>SQLite (the file in the data directory): one writer connection, used under a lock (SQLite
 *       serializes writers anyway), and four readers, so a read never waits for a write transaction:
 *       in WAL mode a reader sees the last commit while the writer works. synchronous=FULL (a
 *       committed transaction survives a power cut) and foreign_keys=ON on every connection.
 *   <li>PostgreSQL (a cluster's shared state): several writers, each transaction SERIALIZABLE, so
 *       that a read-modify-write is as whole as under SQLite's single writer, and run again when the
 *       server reports that a concurrent one made it impossible; readers in REPEATABLE READ, READ ONLY.
 * </ul>
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);
  /** Read connections: the API's GETs and the daemon's scans are short; a few cover two cores, each costs a file handle and a page cache. */
  private static final int READERS = 4;
  /** A second process (the CLI's `template import`) may hold the write lock for a moment. */
  private static final int BUSY_TIMEOUT_MS = 5000;
  /**
   * Runs of a PostgreSQL write transaction that keeps losing to concurrent ones. Each loss means
   * another transaction committed; twenty in a row only happen under a pile-up the caller should hear of.
   */
  static final int MAX_ATTEMPTS = 20;
  /** A PostgreSQL server that does not answer within this is reported as unreachable, not waited on. */
  private static final int CONNECT_TIMEOUT_SECONDS = 10;

  private final Dialect dialect;
  private final HikariDataSource writer;
  private final HikariDataSource readers;
  /** SQLite only: a waiting writer waits here, without the pool's timeout. */
  private final Optional<ReentrantLock> writeLock;
  /** Set while this thread runs a write transaction: transactions do not nest. */
  private final ThreadLocal<Boolean> writing = ThreadLocal.withInitial(() -> false);

  private Database(Dialect dialect, HikariDataSource writer, HikariDataSource readers) {
    this.dialect = dialect;
    this.writer = writer;
    this.readers = readers;
    this.writeLock = dialect == Dialect.SQLITE ? Optional.of(new ReentrantLock()) : Optional.empty();
  }

  /** The SQLite file {@code file}, created and migrated as needed. */
  public static Database open(Path file) throws SQLException {
    String url = "jdbc:sqlite:" + file;
    Migrations.apply(sqlite(url, Role.MIGRATION), Dialect.SQLITE);
    return open(Dialect.SQLITE, sqlite(url, Role.WRITER), 1, sqlite(url, Role.READER));
  }

  /**
   * The PostgreSQL database {@code target}, migrated as needed (Flyway holds an advisory lock
   * while it migrates, so daemons starting together on one database do not collide).
   *
   * @throws SQLException naming the database (never the password) when it cannot be reached or migrated
   */
  public static Database open(PostgresTarget target) throws SQLException {
    PGSimpleDataSource source = new PGSimpleDataSource();
    try {
      source.setURL(target.url());
    } catch (IllegalArgumentException e) {
      throw new SQLException("the PostgreSQL url " + target.url() + " cannot be used: " + e.getMessage(), e);
    }
    source.setUser(target.user());
    target.password().ifPresent(source::setPassword);
    source.setConnectTimeout(CONNECT_TIMEOUT_SECONDS);
    source.setTcpKeepAlive(true);
    source.setApplicationName("kiln");
    try (Connection c = source.getConnection()) {
      log.info("database postgresql url={} user={} server={}", target.url(), target.user(), c.getMetaData().getDatabaseProductVersion());
    } catch (SQLException e) {
      throw new SQLException("cannot connect to PostgreSQL at " + target + ": " + e.getMessage(), e.getSQLState(), e);
    }
    Migrations.apply(source, Dialect.POSTGRESQL);
    return open(Dialect.POSTGRESQL, source, target.writers(), source);
  }

  private static Database open(Dialect dialect, DataSource writerSource, int writers, DataSource readerSource) throws SQLException {
    HikariDataSource writer = pool("kiln-db-writer", writerSource, writers, false, dialect.writeIsolation());
    try {
      return new Database(dialect, writer, pool("kiln-db-readers", readerSource, READERS, true, dialect.readIsolation()));
    } catch (SQLException | RuntimeException e) {
      writer.close();
      throw e;
    }
  }

  private enum Role { MIGRATION, WRITER, READER }

  private static SQLiteDataSource sqlite(String url, Role role) {
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

  private static HikariDataSource pool(String name, DataSource source, int size, boolean readOnly, Optional<String> isolation) throws SQLException {
    HikariConfig c = new HikariConfig();
    // The pool sets this flag on each connection it hands out; SQLite fixes it at open (sqlite()), so the two must agree.
    c.setReadOnly(readOnly);
    c.setPoolName(name);
    c.setDataSource(source);
    c.setMaximumPoolSize(size);
    c.setMinimumIdle(size);
    isolation.ifPresent(c::setTransactionIsolation);
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
   * whole: no other write comes between its read and its write. On SQLite that holds because
   * there is one writer; on PostgreSQL the transaction is SERIALIZABLE, and when the server finds
   * that a concurrent one made it impossible, {@code work} runs again from the start (up to
   * {@value #MAX_ATTEMPTS} times), so it must do nothing but SQL on {@code c}.
   */
  public <T> T inTransaction(TxWork<T> work) {
    if (writing.get()) {
      // Nested, the inner commit would commit the outer transaction's work early.
      throw new IllegalStateException("a write transaction was opened inside another; pass the Connection down instead");
    }
    writing.set(true);
    try {
      for (int attempt = 1; ; attempt++) {
        try {
          return writeOnce(work);
        } catch (SQLException e) {
          if (!dialect.retryable(e) || attempt == MAX_ATTEMPTS) {
            throw new StoreException("database error" + (attempt > 1 ? " (attempt " + attempt + ")" : "") + ": " + e.getMessage(), e);
          }
          backOff(attempt);
        }
      }
    } finally {
      writing.remove();
    }
  }

  private <T> T writeOnce(TxWork<T> work) throws SQLException {
    writeLock.ifPresent(ReentrantLock::lock);
    try (Connection c = writer.getConnection()) {
      return run(c, work);
    } finally {
      writeLock.ifPresent(ReentrantLock::unlock);
    }
  }

  /** A random pause growing with the attempts (at most ~32 ms), so that two transactions that collided do not collide again in step. */
  private static void backOff(int attempt) {
    long maxMicros = 500L << Math.min(attempt, 6);
    LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(maxMicros) * 1000);
  }

  /**
   * Runs {@code work} on a read-only connection, in one read transaction (it sees one snapshot:
   * the last commit before it began). It neither waits for nor blocks a write transaction.
   */
  public <T> T read(TxWork<T> work) {
    if (writing.get()) {
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
    writeLock.ifPresent(ReentrantLock::lock);
    try {
      writer.close();
    } catch (RuntimeException e) {
      log.warn("closing database: {}", e.toString());
    } finally {
      writeLock.ifPresent(ReentrantLock::unlock);
    }
  }
}
