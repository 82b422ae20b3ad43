package dev.kiln.sandbox;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.store.SandboxRow;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The reaper's scheduling: its own virtual thread per expiry, bounded, never two for one sandbox. */
class TtlReaperTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  private static SandboxRow row(String id, SandboxState state, Optional<Instant> expires, CreateSandbox.OnTimeout onTimeout) {
    return new SandboxRow(id, "t", state.name(), 1, 256, 60, "{}", "{}", Optional.empty(), OptionalLong.empty(), Optional.empty(),
        NOW.minusSeconds(120), expires, onTimeout.name(), "", "");
  }

  private static SandboxRow expired(String id) {
    return row(id, SandboxState.RUNNING, Optional.of(NOW.minusSeconds(1)), CreateSandbox.OnTimeout.DELETE);
  }

  @Test
  void runsExpiriesOnVirtualThreadsAtMostFourAtOnceAndNeverTwoForOneSandbox() throws Exception {
    List<SandboxRow> rows = new ArrayList<>();
    for (int i = 0; i < 6; i++) rows.add(expired("sb-" + i));
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    Set<String> started = ConcurrentHashMap.newKeySet();
    AtomicInteger startedTwice = new AtomicInteger();
    Set<Boolean> virtual = ConcurrentHashMap.newKeySet();
    CountDownLatch release = new CountDownLatch(1);
    TtlReaper reaper = new TtlReaper(() -> rows, (id, now) -> {
      if (!started.add(id)) startedTwice.incrementAndGet();
      virtual.add(Thread.currentThread().isVirtual());
      most.accumulateAndGet(running.incrementAndGet(), Math::max);
      try {
        release.await();
      } finally {
        running.decrementAndGet();
      }
    });

    List<Thread> first = reaper.pass(NOW);
    assertEquals(6, first.size(), "one thread per expiry");
    await().atMost(Duration.ofSeconds(10)).until(() -> running.get() == TtlReaper.CONCURRENCY);
    assertTrue(reaper.pass(NOW).isEmpty(), "a pass while they run starts none again");
    release.countDown();
    for (Thread t : first) t.join();
    assertEquals(TtlReaper.CONCURRENCY, most.get());
    assertEquals(6, started.size());
    assertEquals(0, startedTwice.get());
    assertEquals(Set.of(true), virtual);
    assertEquals(6, reaper.pass(NOW).size(), "once done, a sandbox still due is started again");
  }

  @Test
  void aFailedExpiryDoesNotStopTheOthersOrBlockItsSandboxForGood() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    TtlReaper reaper = new TtlReaper(() -> List.of(expired("sb-a"), expired("sb-b")), (id, now) -> {
      calls.incrementAndGet();
      if (id.equals("sb-a")) throw new IllegalStateException("a bug");
    });
    for (Thread t : reaper.pass(NOW)) t.join();
    assertEquals(2, calls.get());
    for (Thread t : reaper.pass(NOW)) t.join();
    assertEquals(4, calls.get());
  }

  @Test
  void dueOnlyWhenThereIsSomethingToDo() {
    assertTrue(TtlReaper.due(expired("sb-a"), NOW));
    assertFalse(TtlReaper.due(row("sb-a", SandboxState.RUNNING, Optional.of(NOW.plusSeconds(1)), CreateSandbox.OnTimeout.DELETE), NOW));
    assertFalse(TtlReaper.due(row("sb-a", SandboxState.RUNNING, Optional.empty(), CreateSandbox.OnTimeout.DELETE), NOW));
    assertFalse(TtlReaper.due(row("sb-a", SandboxState.STOPPING, Optional.of(NOW), CreateSandbox.OnTimeout.DELETE), NOW));
    assertFalse(TtlReaper.due(row("sb-a", SandboxState.PAUSED, Optional.of(NOW), CreateSandbox.OnTimeout.PAUSE), NOW), "paused already");
    assertTrue(TtlReaper.due(row("sb-a", SandboxState.PAUSED, Optional.of(NOW), CreateSandbox.OnTimeout.DELETE), NOW));
  }
}
