package dev.kiln.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.MigrationSettings;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Empties this node (docs/adr/0019), once the control plane has cordoned it: every running
 * sandbox migrates live, a few at a time (a network group as one, since a group lives on one
 * node), then every paused or stopped one is handed over with its saved state (or its disk alone)
 * in the bucket. Progress goes to the store after each step, for {@code GET /v1/nodes/{id}}. What
 * a drain cannot move (failed sandboxes, ones being created) is listed as left.
 */
final class NodeDrain {
  private static final Logger log = LoggerFactory.getLogger(NodeDrain.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SandboxRows rows;
  private final SandboxRepository repo;
  private final SandboxLocks locks;
  private final SandboxNetworks networks;
  private final LiveMigrations migrations;
  private final BucketStates bucket;
  private final RunDirs dirs;
  private final UnusedDisks unused;
  private final NodeRepository nodes;
  private final AtomicBoolean draining = new AtomicBoolean();
  private volatile MigrationTargets targets = MigrationTargets.NONE;
  private DrainProgress progress;

  NodeDrain(SandboxRows rows, SandboxRepository repo, SandboxLocks locks, SandboxNetworks networks, LiveMigrations migrations, BucketStates bucket,
      RunDirs dirs, UnusedDisks unused, NodeRepository nodes) {
    this.rows = rows;
    this.repo = repo;
    this.locks = locks;
    this.networks = networks;
    this.migrations = migrations;
    this.bucket = bucket;
    this.dirs = dirs;
    this.unused = unused;
    this.nodes = nodes;
  }

  void useTargets(MigrationTargets targets) {
    this.targets = targets;
  }

  /** Starts the drain in the background and returns its first progress; 409 if one runs. */
  synchronized DrainProgress start(int parallel, MigrationSettings settings) {
    if (parallel < 1 || parallel > 16) throw new KilnException(ErrorCode.INVALID_REQUEST, "parallel must be 1..16, got " + parallel);
    if (!draining.compareAndSet(false, true)) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "node " + rows.nodeId() + " is draining already");
    List<SandboxRow> mine = rows.mine();
    List<List<String>> running = runningByGroup(mine);
    // Paused and stopped sandboxes move the same way: their saved state (none for a stopped one) and disk through the bucket.
    List<String> saved = mine.stream().filter(r -> SandboxRows.stateOf(r) == SandboxState.PAUSED || SandboxRows.stateOf(r) == SandboxState.STOPPED)
        .map(SandboxRow::id).toList();
    List<String> left = mine.stream().filter(r -> !movable(SandboxRows.stateOf(r))).map(r -> r.id() + " (" + SandboxRows.stateOf(r).wire() + ")").toList();
    progress = new DrainProgress("draining", Instant.now().toString(), null, parallel,
        new DrainProgress.Count(running.stream().mapToInt(List::size).sum(), 0, 0), new DrainProgress.Count(saved.size(), 0, 0), left, List.of());
    record();
    log.info("drain started node={} running={} saved={} left={} parallel={}", rows.nodeId(), progress.running().total(), saved.size(), left.size(), parallel);
    Thread.ofVirtual().name("drain").start(() -> {
      try {
        drain(running, saved, parallel, settings);
      } finally {
        draining.set(false);
      }
    });
    return progress;
  }

  private static boolean movable(SandboxState s) {
    return s == SandboxState.RUNNING || s == SandboxState.PAUSED || s == SandboxState.STOPPED;
  }

  /** Running sandboxes as units of migration: a network group's members together, the rest one by one. */
  private List<List<String>> runningByGroup(List<SandboxRow> mine) {
    Map<String, List<String>> units = new LinkedHashMap<>();
    for (SandboxRow r : mine) {
      if (SandboxRows.stateOf(r) != SandboxState.RUNNING) continue;
      String unit = networks.specOf(r.id()).group().map(g -> "group:" + g).orElse(r.id());
      units.computeIfAbsent(unit, k -> new ArrayList<>()).add(r.id());
    }
    return List.copyOf(units.values());
  }

  private void drain(List<List<String>> running, List<String> saved, int parallel, MigrationSettings settings) {
    Semaphore slots = new Semaphore(parallel);
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (List<String> unit : running) {
        slots.acquireUninterruptibly();
        pool.submit(() -> {
          try {
            migrateUnit(unit, settings);
          } finally {
            slots.release();
          }
        });
      }
    }
    for (String id : saved) handOver(id);
    synchronized (this) {
      boolean all = progress.running().failed() == 0 && progress.saved().failed() == 0 && progress.left().isEmpty();
      progress = new DrainProgress(all ? "drained" : "incomplete", progress.startedAt(), Instant.now().toString(), progress.parallel(), progress.running(),
          progress.saved(), progress.left(), progress.errors());
      record();
    }
    log.info("drain finished node={} state={} running_moved={} saved_moved={} errors={}", rows.nodeId(), progress.state(), progress.running().moved(),
        progress.saved().moved(), progress.errors().size());
  }

  private void migrateUnit(List<String> unit, MigrationSettings settings) {
    try {
      MigrationResult r = migrations.migrateWithGroup(unit.getFirst(), Optional.empty(), settings);
      int moved = 1 + r.groupMoved().size();
      counted(moved, unit.size() - moved, true, unit.size() - moved == 0 ? null : "group of " + unit.getFirst() + ": " + (unit.size() - moved)
          + " members did not follow it (their events say why)");
    } catch (KilnException | InterruptedException e) {
      counted(0, unit.size(), true, unit.getFirst() + ": " + e.getMessage());
    }
  }

  /**
   * A paused sandbox goes to another node: its state in the bucket (put there now if its pause did
   * not), then the target takes its row over; what it left here goes. A stopped one the same way,
   * with its disk alone. Under its lock throughout, so no resume or start here interleaves.
   */
  private void handOver(String id) {
    try {
      locks.underLifecycleLock(id, (sb, r) -> {
        SandboxState state = SandboxRows.stateOf(r);
        if (state != SandboxState.PAUSED && state != SandboxState.STOPPED) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "it is " + state.wire() + " now");
        long version = repo.findListed(id).orElseThrow(() -> rows.gone(id)).version();
        try {
          if (state == SandboxState.STOPPED) {
            bucket.publishDisk(BucketStates.stoppedPrefix(id, version), SandboxRows.vmSpecOf(r).rootDisk());
          } else if (!bucket.has(BucketStates.pausedPrefix(id, version))) {
            String sha = Files.readString(dirs.pausedStateSha256(id), StandardCharsets.US_ASCII).strip();
            bucket.publish(BucketStates.pausedPrefix(id, version), dirs.pausedState(id), sha, SandboxRows.vmSpecOf(r).rootDisk(), false);
          }
          migrations.shareCheckpoints(id);
          targets.choose(id, Optional.empty()).adoptPaused(id);
        } catch (IOException e) {
          throw new KilnException(ErrorCode.OBJECT_STORE_FAILED, e.getMessage(), e);
        }
        migrations.forget(sb);
        return null;
      });
      unused.collect();
      counted(1, 0, false, null);
    } catch (KilnException | InterruptedException e) {
      counted(0, 1, false, id + ": " + e.getMessage());
    }
  }

  private synchronized void counted(int moved, int failed, boolean running, String error) {
    List<String> errors = new ArrayList<>(progress.errors());
    if (error != null) errors.add(error);
    progress = new DrainProgress(progress.state(), progress.startedAt(), null, progress.parallel(),
        running ? progress.running().plus(moved, failed) : progress.running(), running ? progress.saved() : progress.saved().plus(moved, failed),
        progress.left(), errors);
    record();
  }

  private synchronized void record() {
    try {
      nodes.recordDrain(rows.nodeId(), JSON.writeValueAsString(progress));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a drain's progress is always serializable", e);
    } catch (RuntimeException e) {
      log.warn("drain progress of node={} not recorded: {}", rows.nodeId(), e.getMessage());
    }
  }

}
