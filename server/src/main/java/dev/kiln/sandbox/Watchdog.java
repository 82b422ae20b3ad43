package dev.kiln.sandbox;

import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.RunningVm;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices sandboxes that went bad on their own (the VM exited, the agent channel broke) and fails
 * them: their VM is stopped and their row kept in state error, with the reason, until the client
 * deletes it or its TTL does.
 */
final class Watchdog {
  /** How long a broken agent channel waits to see whether the VM itself died. */
  private static final Duration VM_EXIT_GRACE = Duration.ofMillis(500);
  private static final Logger log = LoggerFactory.getLogger(Watchdog.class);

  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final SandboxTeardown teardown;
  private final UnusedDisks disks;
  private final Seams seam;

  Watchdog(SandboxRepository repo, SandboxRows rows, SandboxTeardown teardown, UnusedDisks disks, Seams seam) {
    this.repo = repo;
    this.rows = rows;
    this.teardown = teardown;
    this.disks = disks;
    this.seam = seam;
  }

  /** Fails the sandbox when this VM of it exits without being asked to. */
  void watch(LiveSandbox sb) {
    RunningVm vm = sb.vm;
    // Not on the thread that completes onExit (the JDK's process reaper, shared by every process):
    // the failure stops things, writes SQL and collects disk layers.
    vm.onExit().thenRunAsync(() -> {
      seam.at(LifecycleSeam.Point.VM_EXITED, sb.id.value());
      failIfCurrent(sb, vm, "its VM process (pid " + vm.pid() + ") exited unexpectedly");
    }, task -> Thread.ofVirtual().name("vm-exit-" + sb.id).start(task));
  }

  /** For the agent connection: its channel broke. */
  void onAgentBroken(LiveSandbox sb, Throwable cause) {
    RunningVm vm = sb.vm;
    if (sb.stopping || vm == null) return;
    Thread.ofVirtual().name("agent-broken-" + sb.id).start(() -> {
      // A dying QEMU closes the agent socket a moment before its exit is seen: name the real cause.
      try {
        vm.onExit().get(VM_EXIT_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException | ExecutionException e) {
        // still running: the channel itself is what broke
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      failIfCurrent(sb, vm, !vm.isAlive() ? "its VM process (pid " + vm.pid() + ") exited unexpectedly" : "agent channel broken: " + cause.getMessage());
    });
  }

  /**
   * Fails the sandbox if {@code vm} is still its VM once its lock is held: a pause, stop or
   * restore that replaced or stopped the VM on purpose, or a delete, came first.
   */
  private void failIfCurrent(LiveSandbox sb, RunningVm vm, String reason) {
    sb.lifecycle.lock();
    try {
      if (sb.deleted || sb.stopping || sb.vm != vm) return;
      failLocked(sb, reason);
    } finally {
      sb.lifecycle.unlock();
    }
  }

  /**
   * The sandbox went bad: record why, stop its VM and remove its files. The row stays, in state
   * error, so the client can see what happened. The caller holds the sandbox's lock: a watcher
   * above, or a transition that failed half-way (a resume whose VM did not come up).
   */
  void failLocked(LiveSandbox sb, String reason) {
    if (!sb.lifecycle.isHeldByCurrentThread()) throw new IllegalStateException("sandbox " + sb.id + " failed without its lock");
    seam.at(LifecycleSeam.Point.FAILING, sb.id.value());
    log.error("sandbox failed sandbox={} reason=\"{}\"", sb.id, reason);
    teardown.teardown(sb);
    Optional<SandboxRow> row = repo.find(sb.id.value());
    if (row.isPresent() && Transitions.rule(SandboxRows.stateOf(row.get()), Operation.FAIL) instanceof Transitions.Go) {
      rows.commit(sb.id.value(), new SandboxRepository.StateChange(row.get().state(), SandboxState.ERROR.name(), Optional.empty(), OptionalLong.empty(),
          Optional.of(reason), SandboxRepository.ExpiryChange.KEEP, Optional.empty()).withEvent("failed", reason));
    }
    // The entry stays (the row does, in state error): the next operation takes this same lock.
    sb.vm = null;
    sb.agent = null;
    disks.collect();
  }
}
