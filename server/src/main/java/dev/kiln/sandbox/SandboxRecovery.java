package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxListRow;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmBackend;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a starting daemon does with what the previous one left: re-adopts the VMs of running
 * sandboxes (same QEMU process, agent answers again), fails those caught being created, finishes
 * deletes, and kills VMs no row accounts for (pool and snapshot VMs, creates it crashed in).
 */
final class SandboxRecovery {
  private static final Logger log = LoggerFactory.getLogger(SandboxRecovery.class);
  private final EventRepository events;
  private final RunDirs dirs;
  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final SandboxRegistry live;
  private final VmmBackend backend;
  private final SandboxNetworks networks;
  private final Watchdog watchdog;
  private final SandboxRemoval removal;
  private final UnusedDisks unused;
  private final SandboxListeners listeners;
  private final VmLauncher launcher;

  SandboxRecovery(RunDirs dirs, SandboxRepository repo, SandboxRows rows, SandboxRegistry live, VmmBackend backend, SandboxNetworks networks, Watchdog watchdog,
      SandboxRemoval removal, UnusedDisks unused, SandboxListeners listeners, VmLauncher launcher, EventRepository events) {
    this.events = events;
    this.dirs = dirs;
    this.repo = repo;
    this.rows = rows;
    this.live = live;
    this.backend = backend;
    this.networks = networks;
    this.watchdog = watchdog;
    this.removal = removal;
    this.unused = unused;
    this.listeners = listeners;
    this.launcher = launcher;
  }

  void recover() {
    removeLeftoverRunDirs();
    networks.adoptAll(id -> repo.find(id).isPresent());
    recordMissingDiskSizes();
    for (SandboxRow r : rows.mine()) {
      LiveSandbox sb = live.add(new SandboxId(r.id()));
      switch (SandboxRows.stateOf(r)) {
        case RUNNING -> readopt(sb, r);
        case CREATING -> {
          // The VM may be half-booted; take hold of it only to stop it.
          adoptVmQuietly(sb, r);
          failNow(sb, "the daemon restarted while the sandbox was being created");
        }
        case STOPPING -> {
          adoptVmQuietly(sb, r);
          removal.delete(r.id());
        }
        case ERROR, PAUSED, STOPPED -> { } // nothing runs: its saved state or its disk waits, or the client reads why it failed
      }
    }
    // After adoption: a layer a running VM writes to may be recorded only by it (adoptVm).
    unused.collect();
  }

  /** Rows from before root disk sizes were recorded get theirs, once. */
  private void recordMissingDiskSizes() {
    for (SandboxListRow l : repo.list()) {
      if (l.rootDiskBytes().isEmpty() && l.sandbox().vmJson().isPresent() && l.sandbox().nodeId().equals(rows.nodeId())) launcher.recordDiskSize(l.sandbox().id(), SandboxRows.vmSpecOf(l.sandbox()).rootDisk());
    }
  }

  /** Run directories without a sandbox row belong to VMs no daemon will adopt: their VMs are killed. */
  private void removeLeftoverRunDirs() {
    if (!Files.isDirectory(dirs.root())) return;
    Set<String> known = new HashSet<>();
    rows.mine().forEach(r -> known.add(r.id()));
    try (var runs = Files.newDirectoryStream(dirs.root())) {
      for (Path run : runs) {
        if (known.contains(run.getFileName().toString())) continue;
        backend.killLeftover(run);
        AtomicFiles.deleteTree(run);
        log.info("removed run directory {} that no sandbox owns", run.getFileName());
      }
    } catch (IOException e) {
      log.warn("leftover run directories not removed: {}", e.toString());
    }
  }

  private void adoptVmQuietly(LiveSandbox sb, SandboxRow r) {
    try {
      adoptVm(sb, r);
    } catch (VmmException e) {
      log.info("sandbox={} has no VM to take over: {}", r.id(), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private VmSpec adoptVm(LiveSandbox sb, SandboxRow r) throws VmmException, InterruptedException {
    if (r.vmJson().isEmpty() || r.pid().isEmpty()) throw new VmmException("no VM recorded");
    VmSpec spec = VmRecords.decode(r.vmJson().get());
    sb.vm = backend.adopt(spec, r.pid().getAsLong());
    if (!sb.vm.spec().equals(spec)) {
      repo.recordVm(r.id(), VmRecords.encode(sb.vm.spec()), sb.vm.pid());
      events.append(r.id(), "recovered", "the daemon had stopped between freezing the disk and recording it; the VM's new disk layer is recorded now");
    }
    return sb.vm.spec();
  }

  private void readopt(LiveSandbox sb, SandboxRow r) {
    try {
      VmSpec spec = adoptVm(sb, r);
      if (sb.vm.stoppedByMigration()) takeBackFromMigration(sb, r);
      watchdog.watch(sb);
      sb.agent = AgentConnection.resume(spec.agentSocket(), r.id(), Duration.ofSeconds(10), cause -> watchdog.onAgentBroken(sb, cause));
      listeners.attached(r.id(), sb.agent);
      log.info("sandbox re-adopted sandbox={} pid={} running_commands={}", r.id(), sb.vm.pid(), sb.agent.resumedExecs().size());
    } catch (VmmException | AgentException | RuntimeException e) {
      failNow(sb, "could not re-adopt after daemon restart: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The previous daemon died after its VM was sent whole to another node and before that node's
   * commit: the sandbox is still this node's, so it runs on here, after a version bump that keeps
   * the other node from committing it late (docs/adr/0019).
   */
  private void takeBackFromMigration(LiveSandbox sb, SandboxRow r) throws VmmException, InterruptedException {
    long version = repo.findListed(r.id()).orElseThrow(() -> new VmmException("its row is gone")).version();
    if (!repo.keepFromMigration(r.id(), rows.nodeId(), version, "the daemon stopped during a live migration that had sent the VM; "
        + "the sandbox runs on here")) {
      throw new VmmException("its row changed while it was taken back from a live migration");
    }
    sb.vm.resume();
    log.info("sandbox taken back from an unfinished live migration sandbox={}", r.id());
  }

  private void failNow(LiveSandbox sb, String reason) {
    sb.lifecycle.lock();
    try {
      watchdog.failLocked(sb, reason);
    } finally {
      sb.lifecycle.unlock();
    }
  }
}
