package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.CheckpointRow;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.MigrationSettings;
import dev.kiln.vmm.MigrationSink;
import dev.kiln.vmm.MigrationStats;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The source side of a live migration (docs/adr/0019), under the sandbox's lifecycle lock from
 * start to end, so no pause, checkpoint, delete or second migration interleaves and data-plane
 * calls wait (then go to the new node). Frozen disk layers go first (through the bucket), then the
 * guest holds its output and the session is closed, the processes and their kept output go, QEMU
 * sends RAM while the guest runs, the top layer follows once it stopped, and the target commits.
 * Until the target's commit, the sandbox is this node's: any failure takes it back here (a version
 * bump in its row first, so that a late commit can no longer win) and runs it on.
 */
final class LiveMigrations {
  private static final Logger log = LoggerFactory.getLogger(LiveMigrations.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  /** A session resumed on the VM it was held on answers at once; longer means the guest is gone. */
  private static final Duration RESUME_TIMEOUT = Duration.ofSeconds(30);

  private final SandboxLocks locks;
  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final SandboxRegistry live;
  private final SandboxNetworks networks;
  private final SandboxListeners listeners;
  private final BucketStates bucket;
  private final CheckpointRepository checkpoints;
  private final CheckpointFiles checkpointFiles;
  private final RunDirs dirs;
  private final UnusedDisks unused;
  private final Watchdog watchdog;
  private final EventRepository events;
  /** Set once the daemon knows its cluster (a node's directory of the others); none on a single host. */
  private volatile MigrationTargets targets = MigrationTargets.NONE;
  private final Map<String, MigrationProgress> underWay = new ConcurrentHashMap<>();

  LiveMigrations(SandboxLocks locks, SandboxRepository repo, SandboxRows rows, SandboxRegistry live, SandboxNetworks networks, SandboxListeners listeners,
      BucketStates bucket, CheckpointRepository checkpoints, CheckpointFiles checkpointFiles, RunDirs dirs, UnusedDisks unused, Watchdog watchdog,
      EventRepository events) {
    this.locks = locks;
    this.repo = repo;
    this.rows = rows;
    this.live = live;
    this.networks = networks;
    this.listeners = listeners;
    this.bucket = bucket;
    this.checkpoints = checkpoints;
    this.checkpointFiles = checkpointFiles;
    this.dirs = dirs;
    this.unused = unused;
    this.watchdog = watchdog;
    this.events = events;
  }

  void useTargets(MigrationTargets targets) {
    this.targets = targets;
  }

  Optional<MigrationProgress> progress(String sandboxId) {
    return Optional.ofNullable(underWay.get(sandboxId));
  }

  /**
   * Moves the sandbox, then the other running members of its network group here to the same node:
   * a group lives on one node, its members reaching each other over that node's bridge.
   */
  MigrationResult migrateWithGroup(String id, Optional<String> node, MigrationSettings settings) throws InterruptedException {
    Optional<String> group = networks.specOf(id).group();
    List<String> mates = group.isEmpty() ? List.of() : rows.mine().stream()
        .filter(r -> !r.id().equals(id) && SandboxRows.stateOf(r) == SandboxState.RUNNING && networks.specOf(r.id()).group().equals(group))
        .map(SandboxRow::id).toList();
    MigrationResult moved = migrate(id, node, settings);
    List<String> followed = new java.util.ArrayList<>();
    for (String mate : mates) {
      try {
        migrate(mate, Optional.of(moved.toNode()), settings);
        followed.add(mate);
      } catch (KilnException e) {
        // It runs on here, apart from its group: its events say why; the caller sees which followed.
        log.warn("sandbox={} of group={} did not follow sandbox={} to node={}: {}", mate, group.get(), id, moved.toNode(), e.getMessage());
      }
    }
    return moved.withGroup(followed);
  }

  MigrationResult migrate(String id, Optional<String> node, MigrationSettings settings) throws InterruptedException {
    return locks.underLifecycleLock(id, (sb, r) -> {
      if (SandboxRows.stateOf(r) != SandboxState.RUNNING || sb.vm == null || sb.agent == null) {
        throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is " + SandboxRows.stateOf(r).wire()
            + ": only a running sandbox migrates live (a paused one resumes on any node from its saved state)");
      }
      if (!bucket.shared()) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "live migration needs the cluster's object store (objectStore in the config): frozen disk layers go through it");
      }
      MigrationTarget target = targets.choose(id, node);
      String mid = newId();
      long t0 = System.nanoTime();
      underWay.put(id, new MigrationProgress(mid, target.nodeId(), "disk", 0, 0));
      events.append(id, "migrating", "live migration " + mid + " to node " + target.nodeName() + " (" + target.nodeId() + ") started");
      log.info("migration started sandbox={} migration={} to_node={}", id, mid, target.nodeId());
      try {
        // The version the target's commit compares against: this row as the migration found it.
        long version = repo.findListed(id).orElseThrow(() -> rows.gone(id)).version();
        MigrationStats stats = move(sb, r, version, target, mid, settings);
        long now = System.nanoTime();
        long took = (now - t0) / 1_000_000;
        double downtime = stats == null ? -1 : stats.downtimeUntil(now);
        log.info("migration done sandbox={} migration={} to_node={} took_ms={} guest_downtime_ms={} sent_bytes={}", id, mid, target.nodeId(), took,
            Math.round(downtime), stats == null ? -1 : stats.bytesSent());
        return new MigrationResult(id, rows.nodeId(), target.nodeId(), took, stats, downtime, List.of());
      } finally {
        underWay.remove(id);
      }
    });
  }

  private MigrationStats move(LiveSandbox sb, SandboxRow r, long version, MigrationTarget target, String mid, MigrationSettings settings)
      throws InterruptedException {
    String id = r.id();
    RunningVm vm = sb.vm;
    MigrationOffer offer;
    try {
      BucketStates.Chain chain = bucket.shareChain(vm.spec().rootDisk());
      shareCheckpoints(id);
      offer = new MigrationOffer(mid, id, version, rows.nodeId(), VmRecords.encode(vm.spec()),
          chain.below().stream().map(l -> new MigrationOffer.Layer(l.key(), l.name())).toList(), chain.base());
      target.prepare(offer);
    } catch (IOException | KilnException e) {
      // Nothing was handed over: the sandbox never stopped running here.
      target.abort(mid);
      String reason = "preparing it failed: " + e.getMessage();
      events.append(id, "migration-failed", "live migration " + mid + " to node " + target.nodeName() + " failed: " + reason + "; the sandbox runs on here");
      throw failed(id, target, reason, e);
    }
    MigrationStats stats = null;
    try {
      stats = handOver(sb, target, mid, settings);
      target.commit(mid);
    } catch (IOException | AgentException | VmmException | RuntimeException e) {
      // Whoever moves the row's version first wins: this node taking the sandbox back, or the
      // target's commit (its answer may be what was lost).
      String reason = e.getMessage();
      if (repo.keepFromMigration(id, rows.nodeId(), version, "live migration " + mid + " to node " + target.nodeName() + " failed: " + reason
          + "; the sandbox runs on here")) {
        target.abort(mid);
        takeBack(sb, vm);
        throw failed(id, target, reason, e);
      }
      log.warn("migration sandbox={} migration={} reported a failure ({}) but the target committed: it runs there", id, mid, reason);
    }
    departed(sb, vm);
    return stats;
  }

  /** Holds the guest's output, closes the session, and sends processes, RAM and disk. */
  private MigrationStats handOver(LiveSandbox sb, MigrationTarget target, String mid, MigrationSettings settings)
      throws IOException, AgentException, VmmException, InterruptedException {
    String id = sb.id.value();
    RunningVm vm = sb.vm;
    networks.closeForwards(id);
    sb.agent.files().holdOutput();
    sb.stopping = true; // the session's end below is on purpose
    listeners.detaching(id);
    sb.agent.close();
    sb.agent = null;
    target.sendProcesses(mid, listeners.processes().leaving(id));
    underWay.computeIfPresent(id, (k, p) -> new MigrationProgress(mid, p.toNode(), "memory", 0, 0));
    MigrationStats stats = vm.migrateOut(settings, new MigrationSink() {
      @Override
      public void send(InputStream stream) throws IOException, InterruptedException {
        target.sendMemory(mid, stream);
      }

      @Override
      public void progress(long sentBytes, long remainingBytes) {
        underWay.computeIfPresent(id, (k, p) -> new MigrationProgress(mid, p.toNode(), "memory", sentBytes, remainingBytes));
      }
    });
    underWay.computeIfPresent(id, (k, p) -> new MigrationProgress(mid, p.toNode(), "commit", p.sentBytes(), 0));
    target.sendDisk(mid, vm.spec().rootDisk());
    return stats;
  }

  /** The migration failed before the target's commit: the VM runs here again with its session and forwards. */
  private void takeBack(LiveSandbox sb, RunningVm vm) throws InterruptedException {
    String id = sb.id.value();
    try {
      if (sb.agent != null) { // the hand-over failed before the session was closed
        listeners.detaching(id);
        sb.agent.close();
        sb.agent = null;
      }
      vm.resume(); // after a failed migration QEMU restarts the guest itself; after a completed one it waits for this
      sb.stopping = false;
      sb.agent = AgentConnection.resume(vm.spec().agentSocket(), id, RESUME_TIMEOUT, cause -> watchdog.onAgentBroken(sb, cause));
      listeners.attached(id, sb.agent);
      networks.openStoredForwards(id);
    } catch (VmmException | AgentException | RuntimeException e) {
      watchdog.failLocked(sb, "its live migration failed and it could not be taken back: " + e.getMessage());
    }
  }

  /** The target runs the sandbox now: nothing of it stays here. */
  private void departed(LiveSandbox sb, RunningVm vm) throws InterruptedException {
    String id = sb.id.value();
    sb.vm = null;
    sb.stopping = true;
    try {
      vm.stop(SandboxTeardown.STOP_GRACE);
    } catch (VmmException e) {
      log.warn("sandbox={} left node but its VM here did not stop cleanly: {}", id, e.getMessage());
    }
    listeners.processes().left(id);
    forget(sb);
    unused.collect();
  }

  /**
   * What stays here of a sandbox another node now runs goes (its namespace, checkpoint files, run
   * directory, registry entry); its disk layers go with the next collection. The caller holds its lock.
   */
  void forget(LiveSandbox sb) {
    String id = sb.id.value();
    networks.releaseDeparted(id);
    checkpointFiles.removeOf(id);
    try {
      AtomicFiles.deleteTree(dirs.of(id));
    } catch (IOException e) {
      log.warn("sandbox={} run directory not removed after it moved to another node: {}", id, e.getMessage());
    }
    live.removeDeleted(sb);
  }

  /**
   * Every checkpoint of the sandbox in the bucket before it moves, so that the target can restore
   * and fork them (it fetches them when first used); a checkpoint that cannot be put there stops the
   * migration rather than be left behind.
   */
  void shareCheckpoints(String id) throws IOException {
    for (CheckpointRow cp : checkpoints.ofSandbox(id)) {
      if (bucket.has(BucketStates.checkpointPrefix(id, cp.id()))) continue;
      Path state = checkpointFiles.state(id, cp.id());
      if (!Files.exists(state)) throw new IOException("checkpoint '" + cp.name() + "' is neither here nor in the object store");
      bucket.publish(BucketStates.checkpointPrefix(id, cp.id()), state, cp.stateSha256(), Path.of(cp.diskPath()), true);
    }
  }

  private KilnException failed(String id, MigrationTarget target, String reason, Exception cause) {
    log.warn("migration failed sandbox={} to_node={} reason=\"{}\"", id, target.nodeId(), reason);
    return new KilnException(ErrorCode.MIGRATION_FAILED, "sandbox " + id + " did not move to node " + target.nodeName() + ": " + reason
        + "; it runs on here", cause);
  }

  private static String newId() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }
}
