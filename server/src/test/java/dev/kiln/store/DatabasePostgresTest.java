package dev.kiln.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link DatabaseContract} on a PostgreSQL server, and what only PostgreSQL has: concurrent writers, a server that can be away. */
class DatabasePostgresTest extends DatabaseContract {
  @Override
  Dialect dialect() {
    return Dialect.POSTGRESQL;
  }

  /**
   * Two writers read the same value, then both write it plus one: made to overlap by a latch, so
   * at READ COMMITTED one increment is always lost. SERIALIZABLE makes the second commit fail
   * (40001), and inTransaction runs it again: it reads the first one's value the second time.
   */
  @Test
  void aTransactionThatLostToAConcurrentWriteRunsAgainAndSeesIt() throws Exception {
    PostgresTarget target = PostgresServer.shared().newDatabase();
    try (Database db = Database.open(target)) {
      new TemplateRepository(db).upsert(Rows.template("t"));
      new PoolRepository(db).upsert(new PoolRepository.PoolRow("t", 0, 0));
      CountDownLatch bothRead = new CountDownLatch(2);
      AtomicInteger runs = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Future<Integer>> writers = List.of(pool.submit(() -> increment(db, bothRead, runs)), pool.submit(() -> increment(db, bothRead, runs)));
        for (Future<Integer> w : writers) w.get(30, TimeUnit.SECONDS);
      } finally {
        pool.shutdownNow();
      }
      assertEquals(2, new PoolRepository(db).all().getFirst().maxReady(), "both increments counted");
      assertEquals(3, runs.get(), "the loser ran twice");
    }
  }

  private static int increment(Database db, CountDownLatch bothRead, AtomicInteger runs) {
    return db.inTransaction(c -> {
      runs.incrementAndGet();
      int read;
      try (var q = c.createStatement(); var rs = q.executeQuery("SELECT max_ready FROM pools WHERE template = 't'")) {
        rs.next();
        read = rs.getInt(1);
      }
      bothRead.countDown();
      try {
        if (!bothRead.await(10, TimeUnit.SECONDS)) throw new SQLException("the other writer never read");
      } catch (InterruptedException e) {
        throw new SQLException("interrupted", e);
      }
      try (var u = c.prepareStatement("UPDATE pools SET max_ready = ? WHERE template = 't'")) {
        u.setInt(1, read + 1);
        return u.executeUpdate();
      }
    });
  }

  @Test
  void aServerThatIsNotThereIsNamedWithoutThePassword() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closed = s.getLocalPort();
    }
    String url = "jdbc:postgresql://127.0.0.1:" + closed + "/kiln";
    SQLException e = assertThrows(SQLException.class, () -> Database.open(new PostgresTarget(url, "kiln", Optional.of("s3cret-pw"), 2)));
    assertTrue(e.getMessage().startsWith("cannot connect to PostgreSQL at " + url + " as user kiln: Connection to 127.0.0.1:" + closed + " refused"),
        e.getMessage());
    assertFalse(e.getMessage().contains("s3cret-pw"), e.getMessage());
  }
}
