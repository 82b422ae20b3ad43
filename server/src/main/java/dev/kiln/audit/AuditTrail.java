package dev.kiln.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.store.AuditRepository;
import dev.kiln.store.AuditRow;
import dev.kiln.store.StoreException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This daemon's side of the audit trail: entries are queued by the request that made them and
 * appended by one writer thread, in batches, to the daemon's own chain in the store; so a request
 * waits for no audit write (an exec's round trip stays the guest's). The head of the chain is
 * then written to the data directory (see {@link AuditHead}).
 *
 * <p>What a crash can lose: the entries queued but not yet written (those of the last
 * {@link #LINGER} or so). A full queue makes the request that records wait, up to a second, then counts
 * the entry as dropped; the next batch says how many were.
 */
public final class AuditTrail implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AuditTrail.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int QUEUE = 16_384;
  private static final int BATCH = 512;
  /** A string in a detail longer than this is cut (an argv can be a megabyte of shell). */
  static final int MAX_TEXT = 4096;
  private static final Duration RETRY = Duration.ofSeconds(1);
  /**
   * How long a batch waits for company after its first entry: at most ten commits (each a store
   * transaction and a head file's fsync) a second, however busy the API is, at the price of
   * entries a crash can lose from that long.
   */
  private static final Duration LINGER = Duration.ofMillis(100);

  private final AuditRepository repo;
  private final AuditHead headFile;
  private final String chain;
  private final BlockingQueue<AuditEntry> queue = new ArrayBlockingQueue<>(QUEUE);
  private final AtomicLong queued = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final Object progress = new Object();
  private long written;
  private volatile boolean closing;
  private final Thread writer;

  /**
   * Opens this daemon's trail: its chain is the one its head file names, or {@code newChain} for a
   * data directory that has none yet.
   */
  public AuditTrail(AuditRepository repo, Path dataDir, String newChain) throws IOException {
    this.repo = repo;
    this.headFile = new AuditHead(dataDir.resolve("audit-head.json"));
    this.chain = headFile.read().map(AuditHead.Head::chain).orElse(newChain);
    this.writer = Thread.ofVirtual().name("audit-writer").start(this::writeLoop);
  }

  public String chain() {
    return chain;
  }

  /** Queues an entry; waits only if the queue is full (then at most a second, after which the entry is counted as dropped). */
  public void record(AuditEntry e) {
    if (closing) return;
    try {
      if (queue.offer(e) || queue.offer(e, 1, TimeUnit.SECONDS)) {
        queued.incrementAndGet();
        return;
      }
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    }
    dropped.incrementAndGet();
  }

  /** Waits until every entry queued before this call is in the store (for tests and an orderly stop). */
  public void flush(Duration atMost) throws InterruptedException {
    long target = queued.get();
    long deadline = System.nanoTime() + atMost.toNanos();
    synchronized (progress) {
      while (written < target) {
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new IllegalStateException("the audit trail did not write " + (target - written) + " entries within " + atMost);
        TimeUnit.NANOSECONDS.timedWait(progress, left);
      }
    }
  }

  /** The head this daemon last wrote, if it has written any: what a verification checks the chain's end against. */
  Optional<AuditHead.Head> head() throws IOException {
    return headFile.read();
  }

  private void writeLoop() {
    List<AuditEntry> batch = new ArrayList<>();
    while (true) {
      try {
        AuditEntry first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (closing && queue.isEmpty()) return;
          continue;
        }
        batch.add(first);
        long until = System.nanoTime() + LINGER.toNanos();
        while (batch.size() < BATCH) {
          queue.drainTo(batch, BATCH - batch.size());
          long left = until - System.nanoTime();
          if (left <= 0 || batch.size() >= BATCH) break;
          AuditEntry next = queue.poll(left, TimeUnit.NANOSECONDS);
          if (next == null) break;
          batch.add(next);
        }
        long lost = dropped.getAndSet(0);
        if (lost > 0) batch.add(new AuditEntry(first.at(), "kiln", "audit.dropped", "", 0, Map.of("count", lost)));
        appendUntilStored(batch);
        synchronized (progress) {
          written += batch.size() - (lost > 0 ? 1 : 0);
          progress.notifyAll();
        }
        batch.clear();
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** A store that is down is retried: an audit entry is not given up while the daemon runs. */
  private void appendUntilStored(List<AuditEntry> batch) throws InterruptedException {
    while (true) {
      try {
        List<AuditRow> rows = repo.append(chain, last -> rows(last, batch));
        AuditRow end = rows.getLast();
        headFile.write(new AuditHead.Head(chain, end.seq(), end.hash()));
        return;
      } catch (StoreException | IOException e) {
        log.warn("audit append failed chain={} entries={} retry_in_s={}: {}", chain, batch.size(), RETRY.toSeconds(), e.getMessage());
        if (closing) throw new InterruptedException("closing");
        Thread.sleep(RETRY);
      }
    }
  }

  private List<AuditRow> rows(Optional<AuditRow> last, List<AuditEntry> batch) {
    long seq = last.map(AuditRow::seq).orElse(0L);
    String prev = last.map(AuditRow::hash).orElse(AuditChain.GENESIS);
    List<AuditRow> out = new ArrayList<>(batch.size());
    for (AuditEntry e : batch) {
      seq++;
      String detail = detailJson(e.detail());
      long at = e.at().toEpochMilli();
      String hash = AuditChain.hash(prev, chain, seq, at, e.actor(), e.action(), e.sandboxId(), e.status(), detail);
      out.add(new AuditRow(chain, seq, at, e.actor(), e.action(), e.sandboxId(), e.status(), detail, prev, hash));
      prev = hash;
    }
    return out;
  }

  private static String detailJson(Map<String, Object> detail) {
    Map<String, Object> bounded = new LinkedHashMap<>();
    detail.forEach((k, v) -> bounded.put(k, bound(v)));
    try {
      return JSON.writeValueAsString(bounded);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("an audit detail that is not JSON: " + e.getOriginalMessage(), e);
    }
  }

  private static Object bound(Object v) {
    if (v instanceof String s && s.length() > MAX_TEXT) return s.substring(0, MAX_TEXT) + "…(" + s.length() + " characters)";
    if (v instanceof List<?> l) return l.stream().limit(256).map(AuditTrail::bound).toList();
    return v;
  }

  @Override
  public void close() throws InterruptedException {
    closing = true;
    writer.join(Duration.ofSeconds(10));
    if (writer.isAlive()) {
      writer.interrupt();
      log.warn("audit trail closed with entries unwritten count={}", queue.size());
    }
  }
}
