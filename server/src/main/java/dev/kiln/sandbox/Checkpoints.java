package dev.kiln.sandbox;

import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.CheckpointRow;
import dev.kiln.store.SandboxRepository.ExpiryChange;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.DiskBase;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints (a running sandbox's RAM, devices and disk at one instant, see {@link StateCapture})
 * and restoring a sandbox to one in place. Checkpoint files live in
 * {@code checkpoints/<sandbox>/<checkpoint>/} and go with their sandbox. Forks from a checkpoint
 * are {@link Forks}'.
 */
public final class Checkpoints {
  private static final Logger log = LoggerFactory.getLogger(Checkpoints.class);
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  /** Whether a checkpoint could have this name (what a name may be is checked before it is used anywhere, a URL included). */
  public static boolean validName(String name) {
    return name != null && NAME.matcher(name).matches();
  }

  /** A checkpoint as the API shows it. */
  public record Checkpoint(String id, String sandboxId, String name, Instant createdAt, long stateBytes) {}

  /** A VM's state on disk and the spec it was saved from (whose root disk is the frozen layer). */
  public record Saved(VmSpec spec, Path state, String sha256, long bytes) {}

  private final DiskFlattening flattening;
  private final SandboxLocks locks;
  private final SandboxRows rows;
  private final StateCapture capture;
  private final VmLauncher launcher;
  private final Watchdog watchdog;
  private final SandboxTeardown teardown;
  private final CheckpointRepository checkpointRows;
  private final UnusedDisks unused;
  private final CheckpointFiles files;
  private final SandboxViews views;
  private final BucketStates bucket;

  private final DiskQuota quota;

  Checkpoints(SandboxLocks locks, SandboxRows rows, StateCapture capture, VmLauncher launcher, Watchdog watchdog, SandboxTeardown teardown,
      CheckpointRepository checkpointRows, UnusedDisks unused, CheckpointFiles files, SandboxViews views, BucketStates bucket, DiskQuota quota,
      DiskFlattening flattening) {
    this.flattening = flattening;
    this.bucket = bucket;
    this.quota = quota;
    this.locks = locks;
    this.rows = rows;
    this.capture = capture;
    this.launcher = launcher;
    this.watchdog = watchdog;
    this.teardown = teardown;
    this.checkpointRows = checkpointRows;
    this.unused = unused;
    this.files = files;
    this.views = views;
  }

  /** Saves a running sandbox's RAM, devices and disk; the sandbox runs on afterwards. */
  public Checkpoint create(String sandboxId, String name) throws InterruptedException {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "checkpoint name must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit");
    }
    return locks.underLifecycleLock(sandboxId, (sb, r) -> {
      Transitions.check(r, Operation.CHECKPOINT);
      if (checkpointRows.find(sandboxId, name).isPresent()) {
        throw new KilnException(ErrorCode.CHECKPOINT_EXISTS, "sandbox " + sandboxId + " already has a checkpoint named '" + name + "'");
      }
      quota.checkCheckpointCount(sandboxId);
      if (sb.vm != null) quota.check(sandboxId, sb.vm.spec().rootDisk(), sb.vm.spec().totalMemoryMib() << 20, "a checkpoint");
      long start = System.nanoTime();
      String id = "cp-" + SandboxId.random().value().substring(3);
      Saved saved = capture.capture(sb, r, files.state(sandboxId, id), files);
      CheckpointRow row = new CheckpointRow(id, sandboxId, name, saved.spec().rootDisk().toString(), saved.bytes(), saved.sha256(),
          VmRecords.encode(saved.spec()), Instant.now());
      if (!checkpointRows.insert(row, "checkpoint", "checkpoint '" + name + "' taken")) {
        files.removeState(saved.state());
        throw new KilnException(ErrorCode.CHECKPOINT_EXISTS, "checkpoint '" + name + "' exists");
      }
      bucket.shareCheckpoint(sandboxId, id, saved.state(), saved.sha256(), saved.spec().rootDisk());
      log.info("checkpoint taken sandbox={} checkpoint={} name={} state_mib={} took_ms={}", sandboxId, id, name, row.stateBytes() >> 20,
          (System.nanoTime() - start) / 1_000_000);
      if (sb.vm != null) flattening.afterChainGrew(sandboxId, sb.vm.spec().rootDisk());
      return view(row);
    });
  }

  public List<Checkpoint> list(String sandboxId) {
    rows.row(sandboxId);
    return checkpointRows.ofSandbox(sandboxId).stream().map(Checkpoints::view).toList();
  }

  /** Deletes a checkpoint; its disk layer stays as long as a sandbox is built on it. */
  public void delete(String sandboxId, String name) throws InterruptedException {
    locks.underLifecycleLock(sandboxId, (sb, r) -> {
      CheckpointRow cp = find(sandboxId, name);
      checkpointRows.delete(cp.id());
      files.removeState(files.state(sandboxId, cp.id()));
      unused.collect();
      log.info("checkpoint deleted sandbox={} name={}", sandboxId, name);
      return null;
    });
  }

  /**
   * Puts the sandbox back to the checkpoint: its VM is replaced by one restored from the
   * checkpoint's state, on a new layer over the checkpoint's disk. Everything since is gone.
   * Works on a running, paused, stopped or failed sandbox.
   */
  public Sandbox restore(String sandboxId, String name) throws InterruptedException {
    locks.underLifecycleLock(sandboxId, (sb, r) -> {
      CheckpointRow cp = find(sandboxId, name);
      SandboxState from = SandboxRows.stateOf(r);
      Transitions.check(sandboxId, from, Operation.RESTORE);
      long start = System.nanoTime();
      teardown.stopForReplacement(sb);
      Saved saved = saved(cp);
      try {
        VmLauncher.Started started = launcher.onNewLayer(new DiskBase.Layer(saved.spec().rootDisk()),
            layer -> launcher.restoreOrBoot(sb, saved.spec().withRootDisk(layer), saved.state(), saved.sha256(), "checkpoint '" + name + "'", false));
        launcher.attach(sb, started, from, "restored", ExpiryChange.KEEP);
        log.info("sandbox restored to checkpoint sandbox={} name={} how=\"{}\" took_ms={}", sandboxId, name, started.how(),
            (System.nanoTime() - start) / 1_000_000);
        flattening.afterChainGrew(sandboxId, started.spec().rootDisk());
      } catch (IOException | VmmException | AgentException e) {
        watchdog.failLocked(sb, "restore to checkpoint '" + name + "' failed: " + e.getMessage());
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + sandboxId + " could not be restored: " + e.getMessage(), e);
      }
      unused.collect();
      return null;
    });
    return views.get(sandboxId);
  }

  /**
   * What a restore or fork of the checkpoint loads. A checkpoint of a sandbox this node took over
   * from another has its files there and in the object store: they are fetched here first, and the
   * checkpoint's row names the local disk from then on (so that collection keeps it).
   */
  Saved saved(CheckpointRow cp) {
    Path state = files.state(cp.sandboxId(), cp.id());
    try {
      VmSpec spec = VmRecords.decode(cp.vmJson());
      String prefix = BucketStates.checkpointPrefix(cp.sandboxId(), cp.id());
      if (!Files.exists(state) && bucket.has(prefix)) {
        try (BucketStates.Fetched f = bucket.fetch(prefix, state)) {
          spec = bucket.withMemoryHere(spec.withRootDisk(f.top()));
          checkpointRows.relocate(cp.id(), f.top().toString(), VmRecords.encode(spec));
        } catch (IOException e) {
          throw new KilnException(ErrorCode.OBJECT_STORE_FAILED, "checkpoint " + cp.name() + " could not be fetched from the object store: " + e.getMessage(), e);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new KilnException(ErrorCode.INTERNAL, "interrupted while fetching checkpoint " + cp.name(), e);
        }
      }
      return new Saved(spec, state, cp.stateSha256(), cp.stateBytes());
    } catch (VmmException e) {
      throw new KilnException(ErrorCode.INTERNAL, "checkpoint " + cp.id() + " has an unreadable VM record", e);
    }
  }

  /** What a restore of the checkpoint loads, for tools that measure against raw QEMU (the benchmark). */
  public Saved saved(String sandboxId, String name) {
    return saved(find(sandboxId, name));
  }

  CheckpointRow find(String sandboxId, String name) {
    rows.row(sandboxId);
    return checkpointRows.find(sandboxId, name == null ? "" : name)
        .orElseThrow(() -> new KilnException(ErrorCode.CHECKPOINT_NOT_FOUND, "sandbox " + sandboxId + " has no checkpoint named '" + name + "'"));
  }

  private static Checkpoint view(CheckpointRow r) {
    return new Checkpoint(r.id(), r.sandboxId(), r.name(), r.createdAt(), r.stateBytes());
  }
}
