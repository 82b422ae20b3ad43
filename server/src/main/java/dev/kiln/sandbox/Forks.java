package dev.kiln.sandbox;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.DiskBase;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.VmSpec;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forks: new sandboxes that start from a checkpoint, or from the live state of a sandbox taken
 * with a brief pause. Each fork's writes go to a disk layer of its own over the checkpoint's
 * frozen layer, invisible to the source and to each other; its network, if its source has one, is
 * a namespace of its own with the same rules.
 */
public final class Forks {
  private static final Logger log = LoggerFactory.getLogger(Forks.class);
  /** Forks per request: each is a whole VM, and the host's capacity check is per sandbox. */
  public static final int MAX_FORKS = 32;
  /** Restores run in parallel up to this many: each is CPU- and memory-bandwidth-bound. */
  public static final int FORK_PARALLELISM = Math.max(2, Runtime.getRuntime().availableProcessors());

  private final SandboxLocks locks;
  private final SandboxRows rows;
  private final StateCapture capture;
  private final Checkpoints checkpoints;
  private final VmLauncher launcher;
  private final SandboxRemoval removal;
  private final SandboxViews views;
  private final SandboxNetworks networks;
  private final SandboxLimits limits;
  private final EventRepository events;
  private final CheckpointFiles files;
  private final DiskLayers disks;

  Forks(SandboxLocks locks, SandboxRows rows, StateCapture capture, Checkpoints checkpoints, VmLauncher launcher, SandboxRemoval removal,
      SandboxViews views, SandboxNetworks networks, SandboxLimits limits, EventRepository events, CheckpointFiles files, DiskLayers disks) {
    this.locks = locks;
    this.rows = rows;
    this.capture = capture;
    this.checkpoints = checkpoints;
    this.launcher = launcher;
    this.removal = removal;
    this.views = views;
    this.networks = networks;
    this.limits = limits;
    this.events = events;
    this.files = files;
    this.disks = disks;
  }

  /**
   * Starts {@code count} new sandboxes from a checkpoint, or from the sandbox's live state (saved
   * with a brief pause, then discarded), for the key {@code owner}: they are its, within its limits.
   * All or nothing: if one fork fails, the others are deleted.
   */
  public List<Sandbox> fork(String sandboxId, int count, Optional<String> checkpoint, String owner) throws InterruptedException {
    if (count < 1 || count > MAX_FORKS) throw new KilnException(ErrorCode.INVALID_REQUEST, "count must be 1.." + MAX_FORKS + ", got " + count);
    SandboxRow source = rows.row(sandboxId);
    for (int i = 0; i < count; i++) limits.check(source.vcpus(), source.memoryMib(), source.timeoutSeconds());
    launcher.checkRoom(owner, count, source.vcpus(), source.memoryMib());
    long start = System.nanoTime();
    Path liveState = files.liveForkState(sandboxId);
    // Under the source's lock, and held from there: a delete of the checkpoint or of the source that
    // comes next must not leave the base without a root before each fork's own layer exists.
    Base base = locks.underLifecycleLock(sandboxId, (sb, r) -> {
      Checkpoints.Saved s;
      if (checkpoint.isPresent()) {
        s = checkpoints.saved(checkpoints.find(sandboxId, checkpoint.get()));
      } else {
        Transitions.check(r, Operation.FORK_LIVE);
        s = capture.capture(sb, r, liveState, files);
      }
      return new Base(s, disks.hold(s.spec().rootDisk()));
    });
    Checkpoints.Saved saved = base.saved();
    String what = checkpoint.map(c -> "checkpoint '" + c + "' of " + sandboxId).orElse("the live state of " + sandboxId);
    try (DiskLayers.Hold held = base.hold()) {
      List<Sandbox> forks = startAll(source, saved, count, what, owner);
      events.append(sandboxId, "forked", count + " fork(s) from " + what + ": " + String.join(", ", forks.stream().map(Sandbox::id).toList()));
      log.info("sandbox forked sandbox={} from=\"{}\" count={} took_ms={}", sandboxId, what, count, (System.nanoTime() - start) / 1_000_000);
      return forks;
    } finally {
      if (checkpoint.isEmpty()) files.removeState(liveState);
    }
  }

  /** Forks of a saved state fetched from elsewhere (another node's checkpoint); the caller holds its disk. */
  List<Sandbox> forkFrom(SandboxRow source, Checkpoints.Saved saved, int count, String what, String owner) throws InterruptedException {
    if (count < 1 || count > MAX_FORKS) throw new KilnException(ErrorCode.INVALID_REQUEST, "count must be 1.." + MAX_FORKS + ", got " + count);
    for (int i = 0; i < count; i++) limits.check(source.vcpus(), source.memoryMib(), source.timeoutSeconds());
    launcher.checkRoom(owner, count, source.vcpus(), source.memoryMib());
    List<Sandbox> made = startAll(source, saved, count, what, owner);
    events.append(source.id(), "forked", count + " fork(s) on node " + rows.nodeId() + " from " + what + ": "
        + String.join(", ", made.stream().map(Sandbox::id).toList()));
    return made;
  }

  /** What the forks start from, and the hold that keeps its disk until they have their own layers. */
  private record Base(Checkpoints.Saved saved, DiskLayers.Hold hold) {}

  private List<Sandbox> startAll(SandboxRow source, Checkpoints.Saved saved, int count, String what, String owner) throws InterruptedException {
    Semaphore slots = new Semaphore(FORK_PARALLELISM);
    List<Future<String>> pending = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < count; i++) {
        pending.add(pool.submit(() -> {
          slots.acquire();
          try {
            return startOne(source, saved, what, owner);
          } finally {
            slots.release();
          }
        }));
      }
    }
    List<String> forks = new ArrayList<>();
    RuntimeException failure = null;
    for (Future<String> f : pending) {
      try {
        forks.add(f.get());
      } catch (ExecutionException e) {
        if (failure == null) failure = e.getCause() instanceof RuntimeException re ? re : new KilnException(ErrorCode.VM_START_FAILED, e.getCause().getMessage(), e.getCause());
      }
    }
    if (failure != null) {
      for (String id : forks) removal.discard(id);
      throw failure;
    }
    return forks.stream().map(views::get).toList();
  }

  private String startOne(SandboxRow source, Checkpoints.Saved saved, String what, String owner) throws InterruptedException {
    SandboxId id = SandboxId.random();
    Instant now = Instant.now();
    Optional<Instant> expires = source.timeoutSeconds() == 0 ? Optional.empty() : Optional.of(now.plusSeconds(source.timeoutSeconds()));
    SandboxRow row = new SandboxRow(id.value(), source.template(), SandboxState.CREATING.name(), source.vcpus(), source.memoryMib(),
        source.timeoutSeconds(), source.envJson(), source.metadataJson(), Optional.empty(), OptionalLong.empty(), Optional.empty(), now,
        expires, source.onTimeout(), rows.nodeId(), owner, source.templateVersion());
    return launcher.launch(row, (sb, runDir) -> {
      // The saved machine has a NIC if its source had a network: the fork gets the same rules in a namespace of its own.
      Optional<VmSpec.Nic> nic = saved.spec().nic().isPresent() ? networks.attach(id.value(), networks.specOf(source.id())) : Optional.empty();
      return launcher.onNewLayer(new DiskBase.Layer(saved.spec().rootDisk()),
          layer -> launcher.restoreOrBoot(sb, saved.spec().renamed(id.value(), runDir).withRootDisk(layer).withNic(nic), saved.state(), saved.sha256(),
              "a fork of " + what, false));
    });
  }
}
