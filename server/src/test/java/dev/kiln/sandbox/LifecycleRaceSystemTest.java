package dev.kiln.sandbox;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.system.TestHost;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Races between lifecycle operations on one sandbox, made deterministic by the {@link LifecycleSeam}
 * test seam: one operation is stopped at a named point while another runs. Real VMs throughout.
 */
@Tag("system")
class LifecycleRaceSystemTest {
  private static final Duration LONG = Duration.ofMinutes(2);
  private static TestHost host;
  private static SandboxManager sandboxes;
  private String id;

  @BeforeAll
  static void up() throws Exception {
    host = TestHost.start();
    sandboxes = host.daemon().sandboxes();
  }

  @AfterAll
  static void down() throws Exception {
    if (host != null) host.close();
  }

  @AfterEach
  void noSeamNoLeftovers() {
    sandboxes.installSeam(LifecycleSeam.NONE);
    // Whatever a failed run left, do not leave it running on a shared machine.
    if (id != null) ProcessHandle.allProcesses().filter(p -> qemuOf(p, id)).forEach(ProcessHandle::destroyForcibly);
  }

  private static String create(OptionalLong ttl, CreateSandbox.OnTimeout onTimeout) throws InterruptedException {
    CreateSandbox req = new CreateSandbox(TestHost.TEMPLATE, ttl, OptionalInt.empty(), OptionalInt.of(256), Map.of(), Map.of(), Optional.empty(),
        onTimeout, Optional.empty(), OptionalLong.empty());
    return sandboxes.create(req).id();
  }

  private static boolean qemuOf(ProcessHandle p, String sandboxId) {
    return p.info().commandLine().map(c -> c.contains("kiln-" + sandboxId)).orElse(false);
  }

  private static boolean qemuRuns(String sandboxId) {
    return ProcessHandle.allProcesses().anyMatch(p -> qemuOf(p, sandboxId));
  }

  /** Runs {@code body} on a named platform thread; what it threw is kept. */
  private static Thread run(String name, AtomicReference<Throwable> thrown, Body body) {
    Thread t = new Thread(() -> {
      try {
        body.run();
      } catch (Throwable e) {
        thrown.set(e);
      }
    }, name);
    t.start();
    return t;
  }

  interface Body {
    void run() throws Exception;
  }

  @Test
  void aDeleteQueuedBehindAFailureAndARestoreWaitsForTheRestoreAndStopsItsVm() throws Exception {
    id = create(OptionalLong.empty(), CreateSandbox.OnTimeout.DELETE);
    sandboxes.checkpoints().create(id, "c");
    long pid = sandboxes.rowOf(id).pid().orElseThrow();
    Seam seam = new Seam(id);
    Seam.Gate failing = seam.gate(LifecycleSeam.Point.FAILING, t -> true);
    Seam.Gate restoring = seam.gate(LifecycleSeam.Point.VM_STARTED, t -> t.getName().equals("restore"));
    sandboxes.installSeam(seam);

    ProcessHandle.of(pid).orElseThrow().destroyForcibly(); // its VM dies: fail() takes the lock, and stops here
    failing.awaitReached();
    AtomicReference<Throwable> restoreFailed = new AtomicReference<>();
    Thread restore = run("restore", restoreFailed, () -> sandboxes.checkpoints().restore(id, "c"));
    await().atMost(LONG).until(() -> seam.seen(LifecycleSeam.Point.LOCKING, "restore") && restore.getState() == Thread.State.WAITING);
    failing.release(); // the failure ends; the restore, queued on the same lock, starts its VM and stops here
    restoring.awaitReached();

    AtomicReference<Throwable> deleteFailed = new AtomicReference<>();
    Thread delete = run("delete", deleteFailed, () -> sandboxes.delete(id));
    await().atMost(LONG).until(() -> seam.seen(LifecycleSeam.Point.LOCKED, "delete")
        || seam.seen(LifecycleSeam.Point.LOCKING, "delete") && delete.getState() == Thread.State.WAITING);
    boolean bothHeldTheLock = seam.seen(LifecycleSeam.Point.LOCKED, "delete");
    restoring.release();
    restore.join(LONG.toMillis());
    delete.join(LONG.toMillis());

    assertFalse(bothHeldTheLock, "the delete took a lock of the sandbox while the restore held another");
    assertNull(deleteFailed.get(), () -> "delete failed: " + deleteFailed.get());
    assertNull(restoreFailed.get(), () -> "restore failed: " + restoreFailed.get());
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertFalse(qemuRuns(id), "the restored VM outlived the delete"));
  }

  @Test
  void anOperationThatGetsTheLockOfASandboxDeletedMeanwhileAnswers404() throws Exception {
    id = create(OptionalLong.empty(), CreateSandbox.OnTimeout.DELETE);
    Seam seam = new Seam(id);
    Seam.Gate deleting = seam.gate(LifecycleSeam.Point.ACTING, t -> t.getName().equals("delete"));
    sandboxes.installSeam(seam);
    AtomicReference<Throwable> deleteFailed = new AtomicReference<>();
    Thread delete = run("delete", deleteFailed, () -> sandboxes.delete(id));
    deleting.awaitReached();
    AtomicReference<Throwable> pauseFailed = new AtomicReference<>();
    Thread pause = run("pause", pauseFailed, () -> sandboxes.pause(id));
    await().atMost(LONG).until(() -> seam.seen(LifecycleSeam.Point.LOCKING, "pause") && pause.getState() == Thread.State.WAITING);
    deleting.release();
    delete.join(LONG.toMillis());
    pause.join(LONG.toMillis());

    assertNull(deleteFailed.get());
    assertTrue(pauseFailed.get() instanceof KilnException, () -> "pause answered " + pauseFailed.get());
    assertEquals(ErrorCode.SANDBOX_DELETED, ((KilnException) pauseFailed.get()).code());
    assertFalse(seam.seen(LifecycleSeam.Point.ACTING, "pause"), "the pause acted on a deleted sandbox");
    assertFalse(qemuRuns(id));
  }

  @Test
  void aResumeRightAfterATtlPauseGetsAFreshExpiry() throws Exception {
    id = create(OptionalLong.of(3600), CreateSandbox.OnTimeout.PAUSE);
    Seam seam = new Seam(id);
    Seam.Gate ttlPaused = seam.gate(LifecycleSeam.Point.TTL_PAUSED, t -> true);
    sandboxes.installSeam(seam);
    AtomicReference<Throwable> reapFailed = new AtomicReference<>();
    Thread reaper = run("reaper", reapFailed, () -> sandboxes.reapExpired(Instant.now().plus(Duration.ofHours(2))));
    ttlPaused.awaitReached();
    assertEquals(SandboxState.PAUSED, sandboxes.get(id).state());
    AtomicReference<Throwable> resumeFailed = new AtomicReference<>();
    Thread resume = run("resume", resumeFailed, () -> sandboxes.resume(id)); // as a request to a paused sandbox does
    // Either it resumes now (the pause's bookkeeping is done), or it waits for the pause to finish.
    await().atMost(LONG).until(() -> resume.getState() == Thread.State.TERMINATED
        || seam.seen(LifecycleSeam.Point.LOCKING, "resume") && resume.getState() == Thread.State.WAITING);
    ttlPaused.release();
    reaper.join(LONG.toMillis());
    resume.join(LONG.toMillis());

    assertNull(reapFailed.get());
    assertNull(resumeFailed.get(), () -> "resume failed: " + resumeFailed.get());
    Sandbox after = sandboxes.get(id);
    assertEquals(SandboxState.RUNNING, after.state());
    assertTrue(after.expiresAt().isPresent(), "a running sandbox with a TTL must have an expiry, or no reaper ever stops it");
    sandboxes.delete(id);
  }

  @Test
  void aVmExitIsHandledOnAVirtualThreadNotTheJdksProcessReaper() throws Exception {
    id = create(OptionalLong.empty(), CreateSandbox.OnTimeout.DELETE);
    AtomicReference<Thread> watcher = new AtomicReference<>();
    sandboxes.installSeam((point, sandboxId) -> {
      if (point == LifecycleSeam.Point.VM_EXITED && sandboxId.equals(id)) watcher.set(Thread.currentThread());
    });
    ProcessHandle.of(sandboxes.rowOf(id).pid().orElseThrow()).orElseThrow().destroyForcibly();
    await().atMost(LONG).until(() -> watcher.get() != null && sandboxes.get(id).state() == SandboxState.ERROR);
    assertTrue(watcher.get().isVirtual(), () -> "the exit was handled on " + watcher.get());
    sandboxes.delete(id);
  }

  @Test
  void anExecThatAPauseCutsOffAnswersSandboxNotRunningRatherThanABrokenChannel() throws Exception {
    id = create(OptionalLong.empty(), CreateSandbox.OnTimeout.DELETE);
    SandboxOperations ops = new SandboxOperations(sandboxes);
    AtomicReference<Throwable> execFailed = new AtomicReference<>();
    Thread exec = run("exec", execFailed, () -> ops.exec(id, dev.kiln.agent.ExecRequest.shell("touch /tmp/started; sleep 120")));
    await().atMost(LONG).ignoreExceptions().until(() -> ops.stat(id, "/tmp/started") != null);
    sandboxes.pause(id);
    exec.join(LONG.toMillis());
    KilnException e = (KilnException) execFailed.get();
    assertEquals(ErrorCode.SANDBOX_NOT_RUNNING, e.code(), e.getMessage());
    assertTrue(e.getMessage().startsWith("sandbox " + id + " is paused: exec /bin/sh was cut off"), e.getMessage());
    sandboxes.delete(id);
  }

  @Test
  void aResumeWhoseRowAnotherWriterChangedAnswers409AndLeavesNoVm() throws Exception {
    id = create(OptionalLong.empty(), CreateSandbox.OnTimeout.DELETE);
    sandboxes.pause(id);
    Seam seam = new Seam(id);
    Seam.Gate started = seam.gate(LifecycleSeam.Point.VM_STARTED, t -> t.getName().equals("resume"));
    sandboxes.installSeam(seam);
    AtomicReference<Throwable> resumeFailed = new AtomicReference<>();
    Thread resume = run("resume", resumeFailed, () -> sandboxes.resume(id));
    started.awaitReached();
    // Another control instance on the same database, as a cluster will have: it stops the sandbox meanwhile.
    try (var other = java.sql.DriverManager.getConnection("jdbc:sqlite:" + host.dataDir().resolve("kiln.db"));
         var update = other.prepareStatement("UPDATE sandboxes SET state = 'STOPPED' WHERE id = ?")) {
      update.setString(1, id);
      assertEquals(1, update.executeUpdate());
    }
    started.release();
    resume.join(LONG.toMillis());
    KilnException e = (KilnException) resumeFailed.get();
    assertEquals(ErrorCode.ILLEGAL_TRANSITION, e.code(), e.getMessage());
    assertTrue(e.getMessage().contains("changed state (from paused to stopped)"), e.getMessage());
    assertEquals(SandboxState.STOPPED, sandboxes.get(id).state(), "the other writer's state stands");
    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertFalse(qemuRuns(id), "the resumed VM outlived its refused transition"));
    sandboxes.delete(id);
  }

  /** Stops chosen threads at chosen points of one sandbox, and remembers which thread reached which point. */
  private static final class Seam implements LifecycleSeam {
    private final String sandbox;
    private final Set<String> seen = ConcurrentHashMap.newKeySet();
    private final Map<Point, Gate> gates = new ConcurrentHashMap<>();

    Seam(String sandbox) {
      this.sandbox = sandbox;
    }

    Gate gate(Point point, Predicate<Thread> who) {
      Gate g = new Gate(who);
      gates.put(point, g);
      return g;
    }

    boolean seen(Point point, String threadName) {
      return seen.contains(point + "@" + threadName);
    }

    @Override
    public void at(Point point, String sandboxId) {
      if (!sandbox.equals(sandboxId)) return;
      seen.add(point + "@" + Thread.currentThread().getName());
      Gate g = gates.get(point);
      if (g != null && g.who.test(Thread.currentThread()) && g.taken.compareAndSet(false, true)) g.stop();
    }

    /** Stops the first thread {@code who} accepts until the test releases it. */
    static final class Gate {
      private final Predicate<Thread> who;
      private final AtomicBoolean taken = new AtomicBoolean();
      private final CountDownLatch reached = new CountDownLatch(1);
      private final CountDownLatch released = new CountDownLatch(1);

      Gate(Predicate<Thread> who) {
        this.who = who;
      }

      private void stop() {
        reached.countDown();
        try {
          released.await(LONG.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS); // bounded: never hang a daemon thread for good
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }

      void awaitReached() throws InterruptedException {
        assertTrue(reached.await(LONG.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS), "the seam point was never reached");
      }

      void release() {
        released.countDown();
      }
    }
  }

  /**
   * A checkpoint moves the VM's writes to a new disk layer, then records it. A daemon that stops in
   * between (the seam throws there: the record is never written, as if the daemon had died) leaves
   * a VM writing to a layer no row names. The next daemon must take the layer from the VM it
   * adopts, not collect it: the file written after the restart survives a pause and resume.
   */
  @Test
  void aDaemonThatStopsBetweenADiskFreezeAndItsRecordLosesNoWrite() throws Exception {
    id = create(OptionalLong.empty(), CreateSandbox.OnTimeout.DELETE);
    SandboxOperations ops = new SandboxOperations(sandboxes);
    ops.exec(id, dev.kiln.agent.ExecRequest.shell("echo before > /root/f"));
    sandboxes.installSeam((point, sandbox) -> {
      if (point == LifecycleSeam.Point.DISK_FROZEN && sandbox.equals(id)) throw new IllegalStateException("test seam: the daemon dies here");
    });
    org.junit.jupiter.api.Assertions.assertThrows(KilnException.class, () -> sandboxes.checkpoints().create(id, "cut"));
    sandboxes.installSeam(LifecycleSeam.NONE);

    host.stopDaemonOnly();
    host.boot();
    sandboxes = host.daemon().sandboxes();
    ops = new SandboxOperations(sandboxes);
    assertEquals(SandboxState.RUNNING, sandboxes.get(id).state());
    ops.exec(id, dev.kiln.agent.ExecRequest.shell("echo after >> /root/f; sync"));
    sandboxes.pause(id);
    sandboxes.resume(id);
    assertEquals("before\nafter\n", new String(ops.exec(id, dev.kiln.agent.ExecRequest.shell("cat /root/f")).stdout()));
    assertTrue(sandboxes.events(id).stream().anyMatch(e -> e.kind().equals("recovered")), () -> sandboxes.events(id).toString());
    sandboxes.delete(id);
  }
}
