package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.net.EgressPolicy;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRepository.ExpiryChange;
import dev.kiln.store.SandboxRepository.StateChange;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.SavedState;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmmException;
import dev.kiln.host.Laps;
import dev.kiln.host.VerifiedFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The transitions of an existing sandbox that keep it: pause, resume, stop, start, and changes of
 * its TTL, network rules and forwards. Each runs under the sandbox's lock, asks {@link Transitions}
 * whether it may, and records its outcome by compare-and-set.
 */
final class SandboxLifecycle {
  /** Saving streams the whole guest RAM that is not file-backed; generous for multi-GiB guests. */
  private static final Duration PAUSE_TIMEOUT = Duration.ofMinutes(5);
  private static final Logger log = LoggerFactory.getLogger(SandboxLifecycle.class);

  private final SandboxLocks locks;
  private final SandboxRows rows;
  private final SandboxRegistry live;
  private final VmLauncher launcher;
  private final Watchdog watchdog;
  private final SandboxTeardown teardown;
  private final SandboxListeners listeners;
  private final SandboxRepository repo;
  private final SandboxNetworks networks;
  private final SandboxLimits limits;
  private final DiskQuota quota;
  private final RunDirs dirs;
  private final EventRepository events;
  private final BucketStates bucket;
  private final VerifiedFiles savedStates;

  SandboxLifecycle(SandboxLocks locks, SandboxRows rows, SandboxRegistry live, VmLauncher launcher, Watchdog watchdog, SandboxTeardown teardown,
      SandboxListeners listeners, SandboxRepository repo, SandboxNetworks networks, SandboxLimits limits, RunDirs dirs, EventRepository events,
      BucketStates bucket, DiskQuota quota, VerifiedFiles savedStates) {
    this.savedStates = savedStates;
    this.bucket = bucket;
    this.quota = quota;
    this.locks = locks;
    this.rows = rows;
    this.live = live;
    this.launcher = launcher;
    this.watchdog = watchdog;
    this.teardown = teardown;
    this.listeners = listeners;
    this.repo = repo;
    this.networks = networks;
    this.limits = limits;
    this.dirs = dirs;
    this.events = events;
  }

  /**
   * Saves the whole VM (RAM and devices; the disk overlay is already on disk) into the sandbox's
   * run directory and stops QEMU: a paused sandbox holds no RAM and no CPU. Its processes carry on
   * where they were when it is resumed.
   */
  void pause(String id) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      // A user's pause only: the TTL's pause on timeout frees RAM and CPU, which a quota must not stand in the way of.
      if (sb.vm != null) quota.check(id, sb.vm.spec().rootDisk(), sb.vm.spec().totalMemoryMib() << 20, "a pause");
      pauseLocked(sb, r, ExpiryChange.KEEP, "paused");
      return null;
    });
  }

  /**
   * The pause itself; the caller holds the sandbox's lock, and {@code r} is its row as it is now.
   * {@code expiry} is recorded with the state: the TTL reaper's pause clears the expiry in the same
   * write (a resume starts the TTL again).
   */
  void pauseLocked(LiveSandbox sb, SandboxRow r, ExpiryChange expiry, String eventKind) throws InterruptedException {
    String id = r.id();
    SandboxState to = Transitions.check(r, Operation.PAUSE).orElseThrow();
    RunningVm vm = sb.vm;
    if (vm == null) throw new IllegalStateException("sandbox " + id + " is running without a VM");
    long start = System.nanoTime();
    SavedState state;
    try {
      state = vm.saveState(dirs.pausedState(id), PAUSE_TIMEOUT);
      AtomicFiles.write(dirs.pausedStateSha256(id), state.sha256().getBytes(StandardCharsets.US_ASCII));
      savedStates.markVerified(state.file(), state.sha256());
    } catch (VmmException | IOException e) {
      // Nothing was lost: let the VM run on, and say why it could not be paused.
      try {
        vm.resume();
      } catch (VmmException again) {
        log.warn("sandbox={} could not be resumed after a failed pause: {}", id, again.getMessage());
      }
      throw new KilnException(ErrorCode.SNAPSHOT_FAILED, "sandbox " + id + " could not be paused: " + e.getMessage(), e);
    }
    sb.vm = null;
    listeners.detaching(id);
    if (sb.agent != null) sb.agent.close();
    sb.agent = null;
    try {
      vm.stop(SandboxTeardown.STOP_GRACE);
    } catch (VmmException e) {
      log.warn("sandbox={} paused but its QEMU did not stop cleanly: {}", id, e.getMessage());
    }
    rows.commit(id, new StateChange(r.state(), to.name(), r.vmJson(), OptionalLong.empty(), Optional.empty(), expiry, Optional.empty())
        .withEvent(eventKind, "state saved (" + (state.bytes() >> 20) + " MiB); the VM holds no RAM or CPU"));
    if (bucket.shared()) {
      long version = repo.findListed(id).map(dev.kiln.store.SandboxListRow::version).orElseThrow();
      bucket.sharePaused(id, version, dirs.pausedState(id), state.sha256(), SandboxRows.vmSpecOf(r).rootDisk());
    }
    log.info("sandbox paused sandbox={} state_mib={} took_ms={}", id, state.bytes() >> 20, (System.nanoTime() - start) / 1_000_000);
  }

  /**
   * Brings a paused sandbox back from its saved state. If the state cannot be restored the sandbox
   * boots from its disk instead (its files survive, its processes do not) and its events say so.
   */
  void resume(String id) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      resumeLocked(sb, r);
      return null;
    });
  }

  private void resumeLocked(LiveSandbox sb, SandboxRow r) throws InterruptedException {
    String id = r.id();
    SandboxState from = SandboxRows.stateOf(r);
    if (Transitions.check(id, from, Operation.RESUME).isEmpty()) return;
    Laps laps = new Laps();
    try {
      String sha = Files.exists(dirs.pausedStateSha256(id)) ? Files.readString(dirs.pausedStateSha256(id)).strip() : "";
      VmLauncher.Started started = launcher.restoreOrBoot(sb, SandboxRows.vmSpecOf(r), dirs.pausedState(id), sha, "its pause", true);
      laps.lap("vm");
      // Paused by its TTL (the expiry was cleared): the TTL starts again now.
      ExpiryChange expiry = r.expiresAt().isEmpty() && r.timeoutSeconds() > 0
          ? ExpiryChange.to(Optional.of(Instant.now().plusSeconds(r.timeoutSeconds()))) : ExpiryChange.KEEP;
      launcher.attach(sb, started, from, "resumed", expiry, laps);
      discardPausedState(id);
      laps.lap("cleanup");
      log.info("sandbox resumed sandbox={} how=\"{}\" took_ms={} {}", id, started.how(), laps.totalMs(), laps);
    } catch (VmmException | AgentException | IOException e) {
      watchdog.failLocked(sb, "resume failed: " + e.getMessage());
      throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " could not be resumed: " + e.getMessage(), e);
    }
  }

  /** The loaded state goes out of the way now and off the disk in the background (RunDirs.spentState). */
  private void discardPausedState(String id) throws IOException {
    Files.deleteIfExists(dirs.pausedStateSha256(id));
    if (!Files.exists(dirs.pausedState(id))) return;
    Path spent = dirs.spentState(id);
    Files.move(dirs.pausedState(id), spent, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    Thread.ofVirtual().name("discard-" + id).start(() -> {
      try {
        Files.deleteIfExists(spent);
      } catch (IOException e) {
        log.warn("sandbox={} its loaded pause state stays until the sandbox is deleted: {}", id, e.getMessage());
      }
    });
  }

  /**
   * Shuts the sandbox's VM down and keeps its disk: no RAM, no CPU, no saved memory state. A start
   * boots it from that disk. The guest's filesystems are synced first, so what it wrote is kept.
   */
  void stop(String id) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      Optional<SandboxState> to = Transitions.check(r, Operation.STOP);
      if (to.isEmpty()) return null;
      if (sb.agent != null) {
        try {
          sb.agent.files().sync();
        } catch (AgentException e) {
          log.warn("sandbox={} did not sync before its stop (what it had not written is lost): {}", id, e.getMessage());
        }
      }
      teardown.stopForReplacement(sb);
      rows.commit(id, new StateChange(r.state(), to.get().name(), r.vmJson(), OptionalLong.empty(), Optional.empty(), ExpiryChange.KEEP, Optional.empty())
          .withEvent("stopped", "VM shut down; its disk is kept"));
      log.info("sandbox stopped sandbox={}", id);
      return null;
    });
  }

  /** Boots a stopped sandbox from its disk. */
  void start(String id) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      SandboxState from = SandboxRows.stateOf(r);
      if (Transitions.check(id, from, Operation.START).isEmpty()) return null;
      long begin = System.nanoTime();
      try {
        launcher.attach(sb, launcher.boot(sb, SandboxRows.vmSpecOf(r).withoutMemory(), "booted from its disk"), from, "started", ExpiryChange.KEEP);
      } catch (VmmException | AgentException e) {
        watchdog.failLocked(sb, "start failed: " + e.getMessage());
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " could not be started: " + e.getMessage(), e);
      }
      log.info("sandbox started sandbox={} took_ms={}", id, (System.nanoTime() - begin) / 1_000_000);
      return null;
    });
  }

  /**
   * The live agent of a running sandbox, for exec and files; a paused sandbox is resumed for it.
   * Read without the lifecycle lock (a long command must not block a delete): a pause or delete
   * that follows closes the channel under the caller, whose call then fails with the sandbox's state.
   */
  AgentConnection agent(String id) throws InterruptedException {
    SandboxRow r = rows.row(id);
    LiveSandbox sb = live.find(new SandboxId(id)).orElse(null);
    AgentConnection agent = sb == null ? null : sb.agent;
    if (agent != null && SandboxRows.stateOf(r) == SandboxState.RUNNING && !sb.lifecycle.isLocked()) return agent;
    // Paused, or a transition (pause, stop, restore...) is under way: decide once it is over.
    return locks.underLifecycleLock(id, (locked, row) -> {
      if (Transitions.check(row, Operation.USE).isPresent()) {
        resumeLocked(locked, row); // any data-plane request wakes a paused sandbox
      }
      if (locked.agent == null) throw Transitions.refusal(id, SandboxRows.stateOf(rows.row(id)), Operation.USE, row.error().orElse(""));
      return locked.agent;
    });
  }

  /**
   * The answer for a data-plane call whose agent channel closed under it. Closed by the host: a
   * transition (pause, stop, restore, delete) ended the session the call used; once that is over,
   * a 409 saying what the sandbox is now (or the 404 of a deleted one), which a client can act on.
   * Broken on its own (the guest or its VM failed): 502, as before.
   */
  KilnException cutOff(String id, String what, AgentConnection used, AgentException e) throws InterruptedException {
    if (!used.closedByHost()) return new KilnException(ErrorCode.GUEST_UNAVAILABLE, "sandbox " + id + ": " + what + ": " + e.getMessage(), e);
    SandboxRow now;
    try {
      now = locks.underLifecycleLock(id, (sb, r) -> r); // waits for the transition that closed it
    } catch (KilnException gone) {
      // Not a 421: the control plane repeats a 421 on the right node, and this call may have had effects here.
      if (gone.code() == ErrorCode.WRONG_NODE) {
        return new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + ": " + what + " was cut off: the sandbox moved to another node "
            + "while it ran; it runs there now: retry", e);
      }
      return gone;
    }
    SandboxState state = SandboxRows.stateOf(now);
    String what2 = what + " was cut off: the sandbox's agent session was closed by a " + (state == SandboxState.RUNNING ? "restore or resume" : "change of state")
        + " while it ran";
    if (state == SandboxState.RUNNING) return new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + ": " + what2 + "; it runs again: retry", e);
    return new KilnException(ErrorCode.SANDBOX_NOT_RUNNING, "sandbox " + id + " is " + state.wire() + ": " + what2, e);
  }

  /**
   * Hot-plugs CPUs and memory into a running sandbox on a machine that can (q35): growth only,
   * within the room it was created with. The new machine is recorded at once, so a pause, a
   * checkpoint or a restarted daemon rebuilds it as it is now.
   */
  void resize(String id, OptionalInt vcpus, OptionalLong memoryMib) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      Transitions.check(r, Operation.RESIZE);
      RunningVm vm = sb.vm;
      if (vm == null) throw new IllegalStateException("sandbox " + id + " is running without a VM");
      limits.check(vcpus.orElse(r.vcpus()), memoryMib.orElse(r.memoryMib()), r.timeoutSeconds());
      OwnerQuotas.reserve(() -> repo.reserveSize(id, vcpus.orElse(r.vcpus()), memoryMib.orElse(r.memoryMib())));
      try {
        if (vcpus.isPresent() && vcpus.getAsInt() != vm.spec().vcpus()) vm.setVcpus(vcpus.getAsInt());
        if (memoryMib.isPresent() && memoryMib.getAsLong() != vm.spec().totalMemoryMib()) vm.setMemoryMib(memoryMib.getAsLong());
      } catch (VmmException e) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "sandbox " + id + " cannot be resized: " + e.getMessage(), e);
      } finally {
        // What was plugged before a refusal stays plugged: record the machine as it is.
        repo.recordVm(id, VmRecords.encode(vm.spec()), vm.pid());
        repo.updateSize(id, vm.spec().vcpus(), vm.spec().totalMemoryMib());
      }
      events.append(id, "resized", vm.spec().vcpus() + " vCPUs, " + vm.spec().totalMemoryMib() + " MiB");
      log.info("sandbox resized sandbox={} vcpus={} memory_mib={}", id, vm.spec().vcpus(), vm.spec().totalMemoryMib());
      return null;
    });
  }

  /** Sets a new TTL counted from now; 0 removes the limit. */
  void setTimeout(String id, long timeoutSeconds) throws InterruptedException {
    limits.checkTimeout(timeoutSeconds);
    // Under the lock, like every TTL change: an expiry deciding on the old TTL finishes first.
    locks.underLifecycleLock(id, (sb, r) -> {
      Transitions.check(r, Operation.CONFIGURE);
      repo.updateExpiry(id, timeoutSeconds, timeoutSeconds == 0 ? Optional.empty() : Optional.of(Instant.now().plusSeconds(timeoutSeconds)));
      return null;
    });
  }

  /** Replaces a sandbox's egress rules and bandwidth; they apply at once, in any state that keeps its namespace. */
  void updateNetwork(String id, EgressPolicy egress, int egressMbit, int ingressMbit) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      Transitions.check(r, Operation.CONFIGURE);
      try {
        networks.update(id, egress, egressMbit, ingressMbit);
      } catch (IllegalArgumentException e) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "network: " + e.getMessage(), e);
      }
      events.append(id, "network", "rules changed: allowOut=" + egress.allowOut() + " denyOut=" + egress.denyOut() + " egressMbit=" + egressMbit
          + " ingressMbit=" + ingressMbit);
      return null;
    });
  }

  SandboxNetworks.Forward addForward(String id, int guestPort, int hostPort) throws InterruptedException {
    return locks.underLifecycleLock(id, (sb, r) -> {
      Transitions.check(r, Operation.CONFIGURE);
      return networks.addForward(id, guestPort, hostPort);
    });
  }

  List<SandboxNetworks.Forward> forwards(String id) {
    rows.row(id);
    return networks.forwards(id);
  }

  void removeForward(String id, int hostPort) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      Transitions.check(r, Operation.CONFIGURE);
      networks.removeForward(id, hostPort);
      return null;
    });
  }
}
