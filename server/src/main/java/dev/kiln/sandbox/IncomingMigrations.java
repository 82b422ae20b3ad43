package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmBackend;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The target side of a live migration (docs/adr/0019): a sandbox arriving from another node, in
 * the steps its source drives (prepare, processes, memory, disk, commit). Nothing of it is this
 * node's until the commit, a compare-and-set on its row that also swaps its network row; before
 * that an abort, or silence from the source, removes everything it made. A source that fell silent
 * after sending everything (it died between the disk and the commit) is committed for here: the
 * row's version decides, so the sandbox never runs on both nodes.
 */
final class IncomingMigrations {
  private static final Logger log = LoggerFactory.getLogger(IncomingMigrations.class);
  /** How long an arrival waits for its source's next step before it gives up (or commits, if it has everything). */
  static final Duration SILENCE = Duration.ofMinutes(2);
  /** The whole RAM stream, at a floor of a few MiB/s. */
  private static final Duration STREAM_TIMEOUT = Duration.ofMinutes(30);
  private static final Duration SESSION_TIMEOUT = Duration.ofSeconds(30);

  private static final class Arrival {
    final MigrationOffer offer;
    final VmSpec spec;
    final Path base;
    final Optional<SandboxNetworks.Arrival> network;
    volatile List<MovedProcess> processes = List.of();
    volatile RunningVm vm;
    volatile boolean diskIn;
    volatile long touched = System.nanoTime();

    Arrival(MigrationOffer offer, VmSpec spec, Path base, Optional<SandboxNetworks.Arrival> network) {
      this.offer = offer;
      this.spec = spec;
      this.base = base;
      this.network = network;
    }
  }

  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final SandboxRegistry live;
  private final SandboxNetworks networks;
  private final SandboxListeners listeners;
  private final BucketStates bucket;
  private final DiskLayers disks;
  private final RunDirs dirs;
  private final VmmBackend backend;
  private final Watchdog watchdog;
  private final EventRepository events;
  private final dev.kiln.store.NodeRepository nodes;
  private final Map<String, Arrival> arrivals = new ConcurrentHashMap<>();
  private final java.util.Set<String> preparing = ConcurrentHashMap.newKeySet();

  IncomingMigrations(SandboxRepository repo, SandboxRows rows, SandboxRegistry live, SandboxNetworks networks, SandboxListeners listeners,
      BucketStates bucket, DiskLayers disks, RunDirs dirs, VmmBackend backend, Watchdog watchdog, EventRepository events, dev.kiln.store.NodeRepository nodes) {
    this.repo = repo;
    this.rows = rows;
    this.live = live;
    this.networks = networks;
    this.listeners = listeners;
    this.bucket = bucket;
    this.disks = disks;
    this.dirs = dirs;
    this.backend = backend;
    this.watchdog = watchdog;
    this.events = events;
    this.nodes = nodes;
  }

  /** Fetches the frozen layers, makes the top layer QEMU will open, and a network with the sandbox's rules. */
  void prepare(MigrationOffer o) throws InterruptedException {
    String id = o.sandboxId();
    // One arrival of a sandbox at a time; the fetch below runs outside any lock (a drain sends several at once).
    if (!preparing.add(id)) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is arriving here already");
    try {
      if (arrivals.containsKey(o.migrationId()) || arrivals.values().stream().anyMatch(a -> a.offer.sandboxId().equals(id))) {
        throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is arriving here already");
      }
      prepareFor(o);
    } finally {
      preparing.remove(id);
    }
  }

  private void prepareFor(MigrationOffer o) throws InterruptedException {
    String id = o.sandboxId();
    var listed = repo.findListed(id).orElseThrow(() -> SandboxId.notFound(id));
    SandboxRow r = listed.sandbox();
    if (!r.nodeId().equals(o.fromNode()) || listed.version() != o.version() || SandboxRows.stateOf(r) != SandboxState.RUNNING || live.find(new SandboxId(id)).isPresent()) {
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is not the running sandbox of node " + o.fromNode() + " the migration says it is");
    }
    if (!dirs.socketsFit(id)) throw new KilnException(ErrorCode.INTERNAL, "data directory path is too long for Unix sockets: " + dirs.of(id));
    Path top;
    Path base;
    try (BucketStates.ChainHere chain = bucket.fetchChain(o.chain())) {
      base = chain.top();
      top = disks.create(DiskLayers.baseOf(base)); // pending until the commit records it, which keeps the chain
    } catch (IOException e) {
      throw new KilnException(ErrorCode.OBJECT_STORE_FAILED, "sandbox " + id + " disk layers could not be fetched: " + e.getMessage(), e);
    }
    Optional<SandboxNetworks.Arrival> network = Optional.empty();
    try {
      network = networks.attachArriving(id);
      VmSpec spec = VmRecords.decode(o.vmJson()).renamed(id, dirs.of(id)).withRootDisk(top).withStreamedMemory().withNic(network.map(SandboxNetworks.Arrival::nic));
      Files.createDirectories(dirs.of(id));
      arrivals.put(o.migrationId(), new Arrival(o, spec, base, network));
      log.info("migration prepared sandbox={} migration={} from_node={}", id, o.migrationId(), o.fromNode());
    } catch (IOException | VmmException | RuntimeException e) {
      if (network.isPresent()) networks.releaseArrival(id);
      disks.discard(top);
      throw e instanceof KilnException k ? k : new KilnException(ErrorCode.INTERNAL, "sandbox " + id + " could not be prepared here: " + e.getMessage(), e);
    }
  }

  void processes(String migrationId, List<MovedProcess> processes) {
    arrival(migrationId).processes = List.copyOf(processes);
  }

  /** Loads the stream into a new VM, stopped; returns once it is in. */
  void memory(String migrationId, InputStream stream) throws InterruptedException {
    Arrival a = arrival(migrationId);
    if (a.vm != null) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "migration " + migrationId + " has its memory already");
    try {
      a.vm = backend.receive(a.spec, stream, STREAM_TIMEOUT);
    } catch (VmmException | RuntimeException e) {
      // A stream cut short (the source died, or its QEMU gave up) ends this arrival: nothing can resume it.
      abort(migrationId);
      throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + a.offer.sandboxId() + " could not be loaded here: " + e.getMessage(), e);
    } finally {
      a.touched = System.nanoTime();
    }
  }

  /**
   * The source's top layer as its stopped VM left it, written into the file the loaded VM holds
   * (it takes its disks only when it runs), named to build on this node's copy of the chain.
   */
  void disk(String migrationId, InputStream stream) throws InterruptedException {
    Arrival a = arrival(migrationId);
    if (a.vm == null) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "migration " + migrationId + " has no memory yet: the disk comes after it");
    Path received = null;
    try {
      received = disks.reserve();
      try (FileChannel out = FileChannel.open(received, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        stream.transferTo(java.nio.channels.Channels.newOutputStream(out));
      }
      DiskLayers.rebase(received, a.base);
      try (FileChannel in = FileChannel.open(received); FileChannel out = FileChannel.open(a.spec.rootDisk(), StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        long n = in.size();
        for (long at = 0; at < n; ) at += out.transferFrom(in, at, n - at);
        out.force(true);
      }
      a.diskIn = true;
    } catch (IOException | RuntimeException e) {
      abort(migrationId);
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + a.offer.sandboxId() + " disk could not be written here: " + e.getMessage(), e);
    } finally {
      if (received != null) disks.discard(received);
      a.touched = System.nanoTime();
    }
  }

  /** Records the sandbox as this node's and runs it; 409 if its row moved on meanwhile (the source took it back). */
  void commit(String migrationId) throws InterruptedException {
    Arrival a = arrival(migrationId);
    synchronized (a) {
      if (!arrivals.containsKey(migrationId)) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "migration " + migrationId + " is over");
      commitLocked(migrationId, a, "live migration " + migrationId + " from node " + a.offer.fromNode());
    }
  }

  private void commitLocked(String migrationId, Arrival a, String why) throws InterruptedException {
    String id = a.offer.sandboxId();
    if (a.vm == null || !a.diskIn) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "migration " + migrationId + " has not received everything yet");
    if (!repo.migrateTo(id, a.offer.fromNode(), a.offer.version(), rows.nodeId(), VmRecords.encode(a.spec), a.vm.pid(),
        a.network.map(SandboxNetworks.Arrival::row), why)) {
      abort(migrationId);
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " changed on its node while it was moving here; it stays there");
    }
    arrivals.remove(migrationId);
    disks.recorded(a.spec.rootDisk());
    LiveSandbox sb = live.add(new SandboxId(id));
    sb.lifecycle.lock();
    try {
      sb.vm = a.vm;
      watchdog.watch(sb);
      a.vm.resume();
      listeners.processes().arrived(id, a.processes);
      sb.agent = AgentConnection.resume(a.spec.agentSocket(), id, SESSION_TIMEOUT, cause -> watchdog.onAgentBroken(sb, cause));
      listeners.attached(id, sb.agent);
      networks.openStoredForwards(id);
      log.info("migration committed sandbox={} migration={} from_node={} processes={}", id, migrationId, a.offer.fromNode(), a.processes.size());
    } catch (VmmException | AgentException | RuntimeException e) {
      // The row is this node's now and the source has let go: a VM that will not run here is a failed sandbox, as anywhere.
      watchdog.failLocked(sb, "it moved to node " + rows.nodeId() + " but did not run there: " + e.getMessage());
      events.append(id, "migration-failed", "the sandbox moved here but its VM did not run: " + e.getMessage());
    } finally {
      sb.lifecycle.unlock();
    }
  }

  /** Drops what an arrival made: its VM, network, disk layer and run directory. Unknown ids are fine (the source aborts blindly). */
  void abort(String migrationId) {
    Arrival a = arrivals.remove(migrationId);
    if (a == null) return;
    String id = a.offer.sandboxId();
    try {
      if (a.vm != null) a.vm.stop(SandboxTeardown.STOP_GRACE);
    } catch (VmmException e) {
      log.warn("arriving sandbox={} VM not stopped cleanly: {}", id, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (a.network.isPresent()) networks.releaseArrival(id);
    disks.discard(a.spec.rootDisk());
    try {
      AtomicFiles.deleteTree(dirs.of(id));
    } catch (IOException e) {
      log.warn("arriving sandbox={} run directory not removed: {}", id, e.getMessage());
    }
    log.info("migration abandoned here sandbox={} migration={}", id, migrationId);
  }

  /**
   * The reaper's tick: an arrival whose source fell silent (or is marked down) is abandoned, unless
   * it has everything, in which case the source died between the disk and the commit and this node
   * takes the sandbox (the version check keeps it from running twice if the source took it back).
   */
  void reapSilent() {
    long now = System.nanoTime();
    for (var e : arrivals.entrySet()) {
      Arrival a = e.getValue();
      // A source marked down says no more either: what it sent so far is all there will be.
      boolean sourceDown = nodes.find(a.offer.fromNode()).map(n -> !n.state().equals("UP")).orElse(true);
      if (now - a.touched < SILENCE.toNanos() && !sourceDown) continue;
      synchronized (a) {
        if (!arrivals.containsKey(e.getKey())) continue;
        if (a.vm != null && a.diskIn) {
          try {
            commitLocked(e.getKey(), a, "live migration " + e.getKey() + " from node " + a.offer.fromNode()
                + ", completed here: the source fell silent after handing everything over");
          } catch (KilnException | InterruptedException x) {
            log.warn("silent migration migration={} not completed here: {}", e.getKey(), x.getMessage());
          }
        } else {
          abort(e.getKey());
        }
      }
    }
  }

  private Arrival arrival(String migrationId) {
    Arrival a = arrivals.get(migrationId);
    if (a == null) throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "no migration " + migrationId + " is arriving here");
    a.touched = System.nanoTime();
    return a;
  }
}
