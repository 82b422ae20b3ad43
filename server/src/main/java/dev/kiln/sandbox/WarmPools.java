package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.store.PoolRepository;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Warm pools: per template, VMs already restored from the template snapshot, run once (see
 * {@link #warm}) and paused (no vCPU running), so a create only has to let one run and say HELLO.
 * A pool keeps between minReady and maxReady such VMs: when a claim takes it below minReady it
 * refills, one VM at a time in the background, up to maxReady. Pool VMs are not sandboxes until
 * claimed: no row, no API presence; they are stopped when the daemon stops, and a crashed daemon's
 * are found and killed at the next start like any run directory without a sandbox.
 *
 * <p>In a cluster a pool's sizes are the cluster's: each node that takes sandboxes keeps its share
 * (the sizes divided by their number, rounded up), and reads the stored pools again at every
 * {@link #sync}, so a pool configured through any node, or a node joining or leaving, is followed.
 */
public final class WarmPools implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WarmPools.class);
  /** A pool VM costs a QEMU process and its page tables; more than this per template is a mistake. */
  public static final int MAX_READY = 16;
  private static final Duration STOP_GRACE = Duration.ofSeconds(3);

  /** A restored, paused VM waiting to become a sandbox. {@code snapshotSha256} names the snapshot it came from. */
  record PoolVm(SandboxId id, VmSpec spec, RunningVm vm, String snapshotSha256) {}

  /** A pool as the API and metrics show it. */
  public record Status(String template, int minReady, int maxReady, int ready, boolean filling, long claims, long misses,
      Optional<String> lastError) {}

  private static final class Pool {
    final String template;
    /** The sizes as configured: the cluster's. */
    int minReady;
    int maxReady;
    /** This node's share of them. */
    int keepMin;
    int keepMax;
    final Deque<PoolVm> ready = new ArrayDeque<>();
    boolean filling;
    long claims;
    long misses;
    String lastError;

    Pool(String template) {
      this.template = template;
    }
  }

  private final PoolRepository repo;
  private final TemplateService templates;
  private final TemplateSnapshots snapshots;
  private final SnapshotClones clones;
  private final DiskLayers disks;
  private final Path sandboxesDir;
  private final SandboxLimits limits;
  private final java.util.function.IntSupplier sharers;
  private final Map<String, Pool> pools = new ConcurrentHashMap<>();
  private volatile boolean closed;

  WarmPools(PoolRepository repo, TemplateService templates, TemplateSnapshots snapshots, SnapshotClones clones, DiskLayers disks,
      Path sandboxesDir, SandboxLimits limits, java.util.function.IntSupplier sharers) {
    this.sharers = sharers;
    this.repo = repo;
    this.templates = templates;
    this.snapshots = snapshots;
    this.clones = clones;
    this.disks = disks;
    this.sandboxesDir = sandboxesDir;
    this.limits = limits;
  }

  /** At daemon start: the configured pools, filled in the background. */
  public void start() {
    sync();
  }

  /**
   * Brings the pools here in line with the stored ones: this node's share of each pool's sizes
   * (VMs over it are stopped, a shortfall is filled), and a pool no longer stored drained.
   */
  public synchronized void sync() {
    int nodes = Math.max(1, sharers.getAsInt());
    Map<String, PoolRepository.PoolRow> stored = new java.util.HashMap<>();
    for (PoolRepository.PoolRow r : repo.all()) stored.put(r.template(), r);
    for (PoolRepository.PoolRow r : stored.values()) {
      Pool p = pools.computeIfAbsent(r.template(), Pool::new);
      List<PoolVm> surplus = new ArrayList<>();
      synchronized (p) {
        p.minReady = r.minReady();
        p.maxReady = r.maxReady();
        p.keepMin = share(r.minReady(), nodes);
        p.keepMax = share(r.maxReady(), nodes);
        while (p.ready.size() > p.keepMax) surplus.add(p.ready.removeLast());
      }
      surplus.forEach(this::discard);
      fill(p);
    }
    for (String gone : List.copyOf(pools.keySet())) {
      if (!stored.containsKey(gone)) drain(pools.remove(gone));
    }
  }

  private static int share(int size, int nodes) {
    return (size + nodes - 1) / nodes;
  }

  /** Sets a template's pool size; VMs above the new maximum are stopped, a shortfall is filled. */
  public Status configure(String template, int minReady, int maxReady) {
    if (minReady < 0 || maxReady < minReady || maxReady > MAX_READY) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "need 0 <= minReady <= maxReady <= " + MAX_READY + ", got minReady=" + minReady + " maxReady=" + maxReady);
    }
    templates.ready(template);
    repo.upsert(new PoolRepository.PoolRow(template, minReady, maxReady));
    sync();
    log.info("warm pool configured template={} min_ready={} max_ready={}", template, minReady, maxReady);
    return status(pools.get(template));
  }

  /** Removes a template's pool and stops its VMs; false if the template had none. */
  public boolean remove(String template) {
    repo.delete(template);
    // Out of the map first: a filler that finds its pool gone keeps no VM it makes after this.
    Pool p = pools.remove(template);
    drain(p);
    return p != null;
  }

  public List<Status> list() {
    return pools.values().stream().map(WarmPools::status).sorted(java.util.Comparator.comparing(Status::template)).toList();
  }

  /**
   * A ready VM of the template at this size, if the pool has one made from the template's current
   * snapshot; the pool refills behind the claim. Empty means: create the usual way.
   */
  Optional<PoolVm> claim(Template t, int vcpus, long memoryMib) {
    Pool p = pools.get(t.name());
    if (p == null) return Optional.empty();
    Optional<TemplateSnapshots.Snapshot> current = snapshots.usable(t, t.machine(), vcpus, memoryMib, false);
    PoolVm vm = null;
    boolean refill;
    List<PoolVm> stale = new ArrayList<>();
    synchronized (p) {
      while (current.isPresent() && !p.ready.isEmpty()) {
        PoolVm candidate = p.ready.removeFirst();
        if (candidate.snapshotSha256().equals(current.get().manifest().stateSha256()) && candidate.vm().isAlive()) {
          vm = candidate;
          break;
        }
        stale.add(candidate);
      }
      if (vm == null) p.misses++;
      else p.claims++;
      refill = p.ready.size() < p.keepMin;
    }
    stale.forEach(this::discard);
    if (refill) fill(p);
    return Optional.ofNullable(vm);
  }

  /** Stops every VM in the template's pool (its snapshot is about to change); refill with {@link #refill}. */
  void drain(String template) {
    drain(pools.get(template));
  }

  private void drain(Pool p) {
    if (p == null) return;
    List<PoolVm> all;
    synchronized (p) {
      all = new ArrayList<>(p.ready);
      p.ready.clear();
    }
    all.forEach(this::discard);
  }

  void refill(String template) {
    Pool p = pools.get(template);
    if (p != null) fill(p);
  }

  /** Starts the pool's filler unless it runs already: one VM at a time, so a refill never floods the host's cores. */
  private void fill(Pool p) {
    synchronized (p) {
      if (p.filling || closed || p.ready.size() >= p.keepMax) return;
      p.filling = true;
    }
    Thread.ofVirtual().name("pool-fill-" + p.template).start(() -> {
      try {
        while (true) {
          synchronized (p) {
            if (closed || pools.get(p.template) != p || p.ready.size() >= p.keepMax) return;
          }
          PoolVm vm = make(p.template);
          boolean keep;
          synchronized (p) {
            keep = !closed && pools.get(p.template) == p && p.ready.size() < p.keepMax;
            if (keep) p.ready.addLast(vm);
            p.lastError = null;
          }
          if (!keep) discard(vm);
          // forget stops and removes things: not on the JDK's process reaper thread that completes onExit
          else vm.vm().onExit().thenRunAsync(() -> forget(p, vm), task -> Thread.ofVirtual().name("pool-exit-" + vm.id()).start(task));
        }
      } catch (KilnException | IOException | VmmException e) {
        synchronized (p) {
          p.lastError = e.getMessage();
        }
        log.warn("warm pool template={} not filled: {}", p.template, e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        synchronized (p) {
          p.filling = false;
        }
      }
    });
  }

  /** One VM restored from the template snapshot and left paused. */
  private PoolVm make(String template) throws IOException, VmmException, InterruptedException {
    Template t = templates.ready(template);
    TemplateSnapshots.Snapshot snap = snapshots.usable(t, t.machine(), limits.vcpusFor(t), limits.memoryMibFor(t), false)
        .orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_READY, "template '" + template + "' has no snapshot at the default size yet"));
    SandboxId id = SandboxId.random();
    Path runDir = sandboxesDir.resolve(id.value());
    SnapshotClones.Clone clone = null;
    boolean made = false;
    try {
      clone = clones.restore(snap, id.value(), runDir, Optional.empty(), true);
      warm(clone.vm(), clone.spec());
      made = true;
      return new PoolVm(id, clone.spec(), clone.vm(), snap.manifest().stateSha256());
    } catch (AgentException e) {
      throw new VmmException("warming a pool VM failed: " + e.getMessage(), e);
    } finally {
      if (!made) {
        if (clone != null) {
          clone.vm().stop(STOP_GRACE);
          disks.discard(clone.spec().rootDisk());
        }
        AtomicFiles.deleteTree(runDir);
      }
    }
  }

  /**
   * Runs the VM once before it waits: a HELLO (which thaws the snapshot's frozen filesystem) and
   * one command, then pauses it again. What a claim would otherwise pay first: the thaw, the
   * guest's first page faults on its cloned RAM, and under TCG the translation of every guest code
   * path the first command takes. The claim's own HELLO still sets the clock and reseeds entropy.
   */
  private static void warm(RunningVm vm, VmSpec spec) throws VmmException, AgentException, InterruptedException {
    vm.resume();
    try (AgentConnection agent = AgentConnection.open(spec.agentSocket(), spec.name(), Duration.ofSeconds(60), cause -> { });
         ExecHandle h = agent.exec(ExecRequest.of("true"))) {
      h.awaitExit(Duration.ofSeconds(60));
    }
    vm.pause();
  }

  /** A pool VM died on its own: drop it and refill. */
  private void forget(Pool p, PoolVm vm) {
    boolean was;
    synchronized (p) {
      was = p.ready.remove(vm);
    }
    if (was && !closed) {
      log.warn("warm pool vm exited on its own template={} vm={}", p.template, vm.id());
      discard(vm);
      fill(p);
    }
  }

  /** Stops a claimed VM that did not become a sandbox after all (its create was refused before it ran). */
  void discard(PoolVm vm) {
    try {
      vm.vm().stop(STOP_GRACE);
    } catch (VmmException e) {
      log.warn("warm pool vm={} did not stop: {}", vm.id(), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    disks.discard(vm.spec().rootDisk());
    try {
      AtomicFiles.deleteTree(vm.spec().runDir());
    } catch (IOException e) {
      log.warn("warm pool vm={} run directory not removed: {}", vm.id(), e.toString());
    }
  }

  private static Status status(Pool p) {
    synchronized (p) {
      return new Status(p.template, p.minReady, p.maxReady, p.ready.size(), p.filling, p.claims, p.misses, Optional.ofNullable(p.lastError));
    }
  }

  /** Stops every pool VM: they hold no user state, and the next daemon makes its own. */
  @Override
  public void close() {
    closed = true;
    for (String t : List.copyOf(pools.keySet())) drain(t);
  }
}
