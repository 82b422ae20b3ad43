package dev.kiln.sandbox;

import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.store.CheckpointRow;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.Overlay;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.SavedState;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints (a running sandbox's RAM, devices and disk at one instant), restoring a sandbox to
 * one in place, and forks: new sandboxes that start from a checkpoint, or from the live state of
 * a sandbox taken with a brief pause.
 *
 * <p>A checkpoint stops the VM for as long as saving its RAM takes; in that stop the VM's top disk
 * layer is frozen (read-only from then on) and a new layer on it takes the VM's writes. The frozen
 * layer is the checkpoint's disk and the base of every fork made from it, so forks copy no disk
 * data and their writes stay in their own layers, invisible to the source and to each other.
 * Checkpoint files live in {@code checkpoints/<sandbox>/<checkpoint>/} and go with their sandbox.
 */
public final class Checkpoints {
  private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  /** Forks per request: each is a whole VM, and the host's capacity check is per sandbox. */
  public static final int MAX_FORKS = 32;
  /** Restores run in parallel up to this many: each is CPU- and memory-bandwidth-bound. */
  public static final int FORK_PARALLELISM = Math.max(2, Runtime.getRuntime().availableProcessors());
  private static final Duration SAVE_TIMEOUT = Duration.ofMinutes(5);
  private static final Duration STOP_GRACE = Duration.ofSeconds(3);

  /** A checkpoint as the API shows it. */
  public record Checkpoint(String id, String sandboxId, String name, Instant createdAt, long stateBytes) {}

  /** A VM's state on disk and the spec it was saved from (whose root disk is the frozen layer). */
  public record Saved(VmSpec spec, Path state, String sha256, long bytes) {}

  private final SandboxManager sandboxes;
  private final Path dir;

  Checkpoints(SandboxManager sandboxes, Path dir) {
    this.sandboxes = sandboxes;
    this.dir = dir;
  }

  /** Saves a running sandbox's RAM, devices and disk; the sandbox runs on afterwards. */
  public Checkpoint create(String sandboxId, String name) throws InterruptedException {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "checkpoint name must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
    }
    return sandboxes.underLifecycleLock(sandboxId, (sb, r) -> {
      needsRunning(sandboxId, r, sb, "checkpoint");
      if (sandboxes.checkpointRows.find(sandboxId, name).isPresent()) {
        throw new KilnException(ErrorCode.CHECKPOINT_EXISTS, "sandbox " + sandboxId + " already has a checkpoint named '" + name + "'");
      }
      long start = System.nanoTime();
      String id = "cp-" + SandboxId.random().value().substring(3);
      Saved saved = capture(sb, r, dir.resolve(sandboxId).resolve(id).resolve("state"));
      CheckpointRow row = new CheckpointRow(id, sandboxId, name, saved.spec().rootDisk().toString(), saved.bytes(), saved.sha256(),
          VmRecord.toJson(saved.spec()), Instant.now());
      if (!sandboxes.checkpointRows.insert(row)) throw new KilnException(ErrorCode.CHECKPOINT_EXISTS, "checkpoint '" + name + "' exists");
      sandboxes.events.append(sandboxId, "checkpoint", "checkpoint '" + name + "' taken");
      log.info("checkpoint taken sandbox={} checkpoint={} name={} state_mib={} took_ms={}", sandboxId, id, name, row.stateBytes() >> 20,
          (System.nanoTime() - start) / 1_000_000);
      return view(row);
    });
  }

  public List<Checkpoint> list(String sandboxId) {
    sandboxes.rowOf(sandboxId);
    return sandboxes.checkpointRows.ofSandbox(sandboxId).stream().map(Checkpoints::view).toList();
  }

  /** Deletes a checkpoint; its disk layer stays as long as a sandbox is built on it. */
  public void delete(String sandboxId, String name) throws InterruptedException {
    sandboxes.underLifecycleLock(sandboxId, (sb, r) -> {
      CheckpointRow cp = find(sandboxId, name);
      sandboxes.checkpointRows.delete(cp.id());
      deleteQuietly(dir.resolve(sandboxId).resolve(cp.id()));
      sandboxes.collectDisks();
      log.info("checkpoint deleted sandbox={} name={}", sandboxId, name);
      return null;
    });
  }

  /**
   * Puts the sandbox back to the checkpoint: its VM is replaced by one restored from the
   * checkpoint's state, on a new layer over the checkpoint's disk. Everything since is gone.
   * Works on a running, paused or failed sandbox.
   */
  public Sandbox restore(String sandboxId, String name) throws InterruptedException {
    return sandboxes.underLifecycleLock(sandboxId, (sb, r) -> {
      CheckpointRow cp = find(sandboxId, name);
      SandboxState state = SandboxState.valueOf(r.state());
      if (state == SandboxState.CREATING || state == SandboxState.STOPPING) {
        throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + sandboxId + " is " + state.wire() + "; it can be restored when running, paused, stopped or failed");
      }
      long start = System.nanoTime();
      sandboxes.stopForReplacement(sb);
      Saved saved = saved(cp);
      try {
        SandboxManager.Started started = sandboxes.onNewLayer(saved.spec().rootDisk(), Overlay.BaseFormat.QCOW2,
            layer -> sandboxes.restoreOrBoot(sb, saved.spec().withRootDisk(layer), saved.state(), saved.sha256(), "checkpoint '" + name + "'"));
        sandboxes.attach(sb, started);
        sandboxes.events.append(sandboxId, "restored", started.how());
        log.info("sandbox restored to checkpoint sandbox={} name={} how=\"{}\" took_ms={}", sandboxId, name, started.how(),
            (System.nanoTime() - start) / 1_000_000);
      } catch (IOException | VmmException | AgentException e) {
        sandboxes.fail(sb, "restore to checkpoint '" + name + "' failed: " + e.getMessage());
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + sandboxId + " could not be restored: " + e.getMessage(), e);
      }
      sandboxes.collectDisks();
      return sandboxes.get(sandboxId);
    });
  }

  /**
   * Starts {@code count} new sandboxes from a checkpoint, or from the sandbox's live state (saved
   * with a brief pause, then discarded). All or nothing: if one fork fails, the others are deleted.
   */
  public List<Sandbox> fork(String sandboxId, int count, Optional<String> checkpoint) throws InterruptedException {
    if (count < 1 || count > MAX_FORKS) throw new KilnException(ErrorCode.INVALID_REQUEST, "count must be 1.." + MAX_FORKS + ", got " + count);
    SandboxRow source = sandboxes.rowOf(sandboxId);
    for (int i = 0; i < count; i++) sandboxes.limits().check(source.vcpus(), source.memoryMib(), source.timeoutSeconds());
    long start = System.nanoTime();
    Path liveState = dir.resolve(sandboxId).resolve("fork-" + SandboxId.random().value().substring(3)).resolve("state");
    Saved saved = checkpoint.isPresent() ? saved(find(sandboxId, checkpoint.get())) : sandboxes.underLifecycleLock(sandboxId, (sb, r) -> {
      needsRunning(sandboxId, r, sb, "a fork without a named checkpoint");
      return capture(sb, r, liveState);
    });
    String what = checkpoint.map(c -> "checkpoint '" + c + "' of " + sandboxId).orElse("the live state of " + sandboxId);
    try {
      List<Sandbox> forks = startForks(source, saved, count, what);
      sandboxes.events.append(sandboxId, "forked", count + " fork(s) from " + what + ": "
          + String.join(", ", forks.stream().map(Sandbox::id).toList()));
      log.info("sandbox forked sandbox={} from=\"{}\" count={} took_ms={}", sandboxId, what, count, (System.nanoTime() - start) / 1_000_000);
      return forks;
    } finally {
      if (checkpoint.isEmpty()) deleteQuietly(liveState.getParent());
    }
  }

  private List<Sandbox> startForks(SandboxRow source, Saved saved, int count, String what) throws InterruptedException {
    Semaphore slots = new Semaphore(FORK_PARALLELISM);
    List<Future<Sandbox>> pending = new ArrayList<>();
    try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < count; i++) {
        pending.add(pool.submit(() -> {
          slots.acquire();
          try {
            return startFork(source, saved, what);
          } finally {
            slots.release();
          }
        }));
      }
    }
    List<Sandbox> forks = new ArrayList<>();
    RuntimeException failure = null;
    for (Future<Sandbox> f : pending) {
      try {
        forks.add(f.get());
      } catch (java.util.concurrent.ExecutionException e) {
        if (failure == null) failure = e.getCause() instanceof RuntimeException re ? re : new KilnException(ErrorCode.VM_START_FAILED, e.getCause().getMessage(), e.getCause());
      }
    }
    if (failure != null) {
      for (Sandbox s : forks) sandboxes.discard(s.id());
      throw failure;
    }
    return forks;
  }

  private Sandbox startFork(SandboxRow source, Saved saved, String what) throws InterruptedException {
    SandboxId id = SandboxId.random();
    Instant now = Instant.now();
    Optional<Instant> expires = source.timeoutSeconds() == 0 ? Optional.empty() : Optional.of(now.plusSeconds(source.timeoutSeconds()));
    SandboxRow row = new SandboxRow(id.value(), source.template(), SandboxState.CREATING.name(), source.vcpus(), source.memoryMib(),
        source.timeoutSeconds(), source.envJson(), source.metadataJson(), Optional.empty(), OptionalLong.empty(), Optional.empty(), now,
        expires, source.onTimeout());
    return sandboxes.launch(row, (sb, runDir) -> {
      // The saved machine has a NIC if its source had a network: the fork gets the same rules in a namespace of its own.
      Optional<VmSpec.Nic> nic = saved.spec().nic().isPresent() ? sandboxes.networks.attach(id.value(), sandboxes.networks.specOf(source.id())) : Optional.empty();
      return sandboxes.onNewLayer(saved.spec().rootDisk(), Overlay.BaseFormat.QCOW2,
          layer -> sandboxes.restoreOrBoot(sb, saved.spec().renamed(id.value(), runDir).withRootDisk(layer).withNic(nic), saved.state(), saved.sha256(),
              "a fork of " + what));
    });
  }

  /**
   * A checkpoint, or a fork of the live state, saves a running VM: a paused sandbox has none (its
   * state is a file), a stopped one has only its disk. 409 naming the state, the operation and
   * what to do.
   */
  private static void needsRunning(String sandboxId, SandboxRow r, LiveSandbox sb, String operation) {
    SandboxState state = SandboxState.valueOf(r.state());
    if (state == SandboxState.RUNNING && sb.vm != null) return;
    String hint = switch (state) {
      case PAUSED -> " (resume it first)";
      case STOPPED -> " (start it first)";
      case CREATING, RUNNING, STOPPING, ERROR -> "";
    };
    throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + sandboxId + " is " + state.wire() + "; " + operation + " needs running" + hint);
  }

  /**
   * Stops the VM, freezes its top disk layer (a new layer on it takes the writes), saves its state
   * to {@code state}, and lets it run on. The returned spec's root disk is the frozen layer.
   */
  private Saved capture(LiveSandbox sb, SandboxRow r, Path state) throws InterruptedException {
    VmSpec current = SandboxManager.vmSpecOf(r);
    RunningVm vm = java.util.Objects.requireNonNull(sb.vm, "capture of a sandbox without a VM");
    Path frozen = current.rootDisk();
    try {
      Path next = sandboxes.disks.create(frozen, Overlay.BaseFormat.QCOW2);
      try {
        vm.freezeDisk(next);
      } catch (VmmException | RuntimeException e) {
        sandboxes.disks.discard(next); // not recorded anywhere yet: nothing else would remove it
        throw e;
      }
      // From here the VM writes to the new layer, whatever happens to the save.
      sandboxes.repo.recordVm(r.id(), VmRecord.toJson(current.withRootDisk(next)), vm.pid());
      sandboxes.disks.recorded(next);
      DiskLayers.freeze(frozen);
      SavedState saved = vm.saveState(state, SAVE_TIMEOUT);
      return new Saved(current, saved.file(), saved.sha256(), saved.bytes());
    } catch (IOException | VmmException | RuntimeException e) {
      deleteQuietly(state.getParent());
      if (e instanceof KilnException k) throw k;
      if (e instanceof RuntimeException) log.error("sandbox={} checkpoint failed on a bug", r.id(), e);
      String why = e instanceof RuntimeException ? "internal error (in the daemon's log)" : e.getMessage();
      throw new KilnException(ErrorCode.SNAPSHOT_FAILED, "sandbox " + r.id() + " could not be checkpointed (it runs on): " + why, e);
    } finally {
      try {
        vm.resume();
      } catch (VmmException e) {
        log.error("sandbox={} did not resume after its checkpoint: {}", r.id(), e.getMessage());
      }
    }
  }

  private Saved saved(CheckpointRow cp) {
    try {
      return new Saved(VmRecord.fromJson(cp.vmJson()), dir.resolve(cp.sandboxId()).resolve(cp.id()).resolve("state"), cp.stateSha256(), cp.stateBytes());
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new KilnException(ErrorCode.INTERNAL, "checkpoint " + cp.id() + " has an unreadable VM record", e);
    }
  }

  /** What a restore of the checkpoint loads, for tools that measure against raw QEMU (the benchmark). */
  public Saved saved(String sandboxId, String name) {
    return saved(find(sandboxId, name));
  }

  private CheckpointRow find(String sandboxId, String name) {
    sandboxes.rowOf(sandboxId);
    return sandboxes.checkpointRows.find(sandboxId, name == null ? "" : name)
        .orElseThrow(() -> new KilnException(ErrorCode.CHECKPOINT_NOT_FOUND, "sandbox " + sandboxId + " has no checkpoint named '" + name + "'"));
  }

  /** Called when the sandbox is deleted (its rows go by cascade). */
  void removeFilesOf(String sandboxId) {
    deleteQuietly(dir.resolve(sandboxId));
  }

  private static Checkpoint view(CheckpointRow r) {
    return new Checkpoint(r.id(), r.sandboxId(), r.name(), r.createdAt(), r.stateBytes());
  }

  private static void deleteQuietly(Path p) {
    try {
      AtomicFiles.deleteTree(p);
    } catch (IOException e) {
      log.warn("could not remove {}: {}", p, e.toString());
    }
  }
}
