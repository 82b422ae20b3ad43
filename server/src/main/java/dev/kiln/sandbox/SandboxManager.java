package dev.kiln.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.host.VerifiedFiles;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.Template;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.image.TemplateService;
import dev.kiln.net.NetworkMode;
import dev.kiln.net.NetworkSpec;
import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.Database;
import dev.kiln.store.EventRepository;
import dev.kiln.store.PoolRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.store.TombstoneRepository;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.Overlay;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.SavedState;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmBackend;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns every sandbox on this host: its row in the store, its run directory and its live VM.
 * Lifecycle transitions of one sandbox are serialized by its lock; exec and file calls only read
 * the live agent and never take that lock, so a long command does not block a delete.
 */
public final class SandboxManager implements AutoCloseable {
  /** A paused sandbox's saved VM state, in its run directory. */
  private static final String PAUSED_STATE = "paused.state";
  /** Its checksum, checked before a resume loads it. */
  private static final String PAUSED_STATE_SHA256 = "paused.state.sha256";
  /** Saving streams the whole guest RAM that is not file-backed; generous for multi-GiB guests. */
  private static final Duration PAUSE_TIMEOUT = Duration.ofMinutes(5);
  /** How long a broken agent channel waits to see whether the VM itself died. */
  private static final Duration VM_EXIT_GRACE = Duration.ofMillis(500);
  private static final Logger log = LoggerFactory.getLogger(SandboxManager.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** SIGTERM grace before SIGKILL: QEMU needs milliseconds; the guest gets no say in it. */
  private static final Duration STOP_GRACE = Duration.ofSeconds(3);
  /** 16 TiB: qcow2 takes far more, but a root disk beyond this is a typo (GiB for MiB) rather than a plan. */
  private static final long MAX_DISK_MIB = 1L << 24;
  /** A Unix socket path must fit sockaddr_un.sun_path (108 bytes, NUL included). */
  private static final int MAX_SOCKET_PATH = 107;

  private final Path sandboxesDir;
  final SandboxRepository repo;
  final EventRepository events;
  final CheckpointRepository checkpointRows;
  final DiskLayers disks;
  final VmmBackend backend;
  private final Checkpoints checkpoints;
  private final WarmPools pools;
  private final List<java.util.function.Consumer<String>> deletedListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<AgentListener> agentListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  /** Saved states (pauses, checkpoints) checked before loading; a checkpoint forked ten times is read once. */
  private final VerifiedFiles verifiedStates = new VerifiedFiles();
  private final TemplateService templates;
  private final GuestArtifacts artifacts;
  private final Accelerator accelerator;
  private final Duration bootTimeout;
  private final SandboxLimits limits;
  private final SandboxRegistry live;
  /** Named points tests may stop at; {@link LifecycleSeam#NONE} in production. */
  volatile LifecycleSeam seam = LifecycleSeam.NONE;
  private final TemplateSnapshots snapshots;
  private final TtlReaper ttl;
  final SandboxNetworks networks;
  private final Tombstones tombstones;
  /** Why the last snapshot of a template failed (until one is taken), for the events of the sandboxes that boot instead. */
  private final Map<String, String> snapshotFailures = new ConcurrentHashMap<>();
  /** One snapshot at a time per template. */
  private final Map<String, java.util.concurrent.locks.ReentrantLock> snapshotLocks = new ConcurrentHashMap<>();
  /** Threads inside {@link #snapshot}: close waits for them, so their VM and scratch namespace are gone before the daemon is. */
  private final java.util.Set<Thread> snapshotting = ConcurrentHashMap.newKeySet();
  /** How long close waits for an aborted snapshot to clean up (its VM is already stopped; this is file and namespace removal). */
  private static final Duration SNAPSHOT_ABORT_WAIT = Duration.ofSeconds(15);

  public SandboxManager(Path dataDir, Database db, TemplateService templates, VmmBackend backend, GuestArtifacts artifacts,
      Accelerator accelerator, OptionalLong tscKhz, Duration bootTimeout, SandboxLimits limits, SandboxNetworks networks, Duration tombstoneRetention) {
    this(dataDir, db, templates, backend, artifacts, accelerator, tscKhz, bootTimeout, limits, networks, tombstoneRetention, new SandboxRegistry());
  }

  SandboxManager(Path dataDir, Database db, TemplateService templates, VmmBackend backend, GuestArtifacts artifacts, Accelerator accelerator,
      OptionalLong tscKhz, Duration bootTimeout, SandboxLimits limits, SandboxNetworks networks, Duration tombstoneRetention, SandboxRegistry registry) {
    this.live = registry;
    this.networks = networks;
    this.sandboxesDir = dataDir.resolve("sandboxes");
    this.repo = new SandboxRepository(db);
    this.tombstones = new Tombstones(new TombstoneRepository(db), repo, tombstoneRetention);
    this.events = new EventRepository(db);
    this.ttl = new TtlReaper(repo::all, this::expire);
    this.checkpointRows = new CheckpointRepository(db);
    this.disks = new DiskLayers(dataDir.resolve("disks"));
    this.templates = templates;
    this.backend = backend;
    this.artifacts = artifacts;
    this.accelerator = accelerator;
    this.bootTimeout = bootTimeout;
    this.limits = limits;
    this.snapshots = new TemplateSnapshots(sandboxesDir, backend, artifacts, accelerator, kernelCmdline(accelerator, tscKhz, artifacts.cmdline()), bootTimeout);
    this.checkpoints = new Checkpoints(this, dataDir.resolve("checkpoints"));
    this.pools = new WarmPools(new PoolRepository(db), templates, snapshots, backend, disks, sandboxesDir, limits, bootTimeout);
    templates.onDeleted(pools::remove);
  }

  // ---- template snapshots -------------------------------------------------------------------

  /**
   * Snapshots a built template at the default sandbox size, so creates of that size restore
   * instead of booting. Refused while sandboxes use the template: their disks and memory are
   * layered on the current snapshot. The template shows SNAPSHOTTING meanwhile and READY after,
   * whether the snapshot was taken or failed (then its sandboxes boot, and their events say why).
   */
  public TemplateSnapshots.Manifest snapshot(String templateName) throws InterruptedException {
    Template t = templates.ready(templateName);
    var lock = snapshotLocks.computeIfAbsent(t.name(), k -> new java.util.concurrent.locks.ReentrantLock());
    snapshotting.add(Thread.currentThread());
    lock.lock();
    try {
      if (templates.inUse(t.name())) {
        throw new KilnException(ErrorCode.TEMPLATE_IN_USE, "template '" + t.name() + "' is used by sandboxes, whose disks rest on its current snapshot");
      }
      templates.snapshotStarted(t.name());
      pools.drain(t.name()); // its VMs are clones of the snapshot being replaced
      TemplateSnapshots.Manifest m = snapshots.take(t, limits.defaults().vcpus(), limits.defaults().memoryMib(), Optional.empty()).manifest();
      if (networks.available()) takeNetworkedSnapshot(t);
      snapshotFailures.remove(t.name());
      return m;
    } catch (IOException | VmmException | AgentException | IllegalStateException | dev.kiln.host.CommandException e) {
      snapshotFailures.put(t.name(), e.getMessage() == null ? "unknown reason" : e.getMessage());
      throw new KilnException(ErrorCode.SNAPSHOT_FAILED, "snapshot of template " + t.name() + " failed: " + e.getMessage(), e);
    } finally {
      try {
        templates.snapshotEnded(t.name());
        lock.unlock();
        pools.refill(t.name());
      } finally {
        snapshotting.remove(Thread.currentThread());
      }
    }
  }

  /** The variant with a network device: the snapshot VM gets a scratch namespace closed to everything. */
  private void takeNetworkedSnapshot(Template t) throws IOException, VmmException, AgentException, InterruptedException {
    snapshots.ensureNotAborted(); // no scratch namespace for a snapshot that will not run
    String scratch = "snapnet-" + SandboxId.random().value().substring(3);
    Optional<VmSpec.Nic> nic = networks.attachScratch(scratch);
    try {
      snapshots.take(t, limits.defaults().vcpus(), limits.defaults().memoryMib(), nic);
    } finally {
      networks.releaseScratch(scratch);
    }
  }

  /** For the daemon: every template that is built is snapshotted in the background (it is SNAPSHOTTING until then). */
  public void snapshotInBackground(Template t) {
    Thread.ofVirtual().name("snapshot-" + t.name()).start(() -> {
      try {
        snapshot(t.name());
      } catch (KilnException e) {
        log.warn("template={} not snapshotted; its sandboxes boot cold: {}", t.name(), e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
  }

  /**
   * At daemon start: clears snapshots a crash interrupted, and snapshots in the background every
   * ready template that has no usable snapshot at the default size.
   */
  public void snapshotTemplatesWithout() {
    for (Template t : templates.list()) {
      if (!t.built()) continue;
      snapshots.removeInterrupted(t);
      boolean missing = snapshots.usable(t, limits.defaults().vcpus(), limits.defaults().memoryMib(), false).isEmpty()
          || networks.available() && snapshots.usable(t, limits.defaults().vcpus(), limits.defaults().memoryMib(), true).isEmpty();
      // Marked before the API serves: the template never shows ready while its snapshot is missing.
      if (!templates.inUse(t.name()) && missing && templates.snapshotStarted(t.name())) {
        snapshotInBackground(t);
      }
    }
  }

  /** The template's snapshot as the API shows it, if it has one. */
  public Optional<TemplateSnapshots.Manifest> snapshotOf(Template t) {
    return snapshots.describe(t);
  }

  /**
   * The guest kernel command line. Under TCG on the microvm machine the kernel cannot calibrate the
   * TSC (no HPET, PM timer or PIT port 0x61) and hangs about 4 boots in 5 unless given the rate;
   * tsc=reliable keeps a loaded host from marking the clocksource unstable.
   */
  public static String kernelCmdline(Accelerator accel, OptionalLong tscKhz, String fromManifest) {
    StringBuilder b = new StringBuilder("console=ttyS0 quiet panic=-1 kiln.root=/dev/vda");
    if (accel == Accelerator.TCG && tscKhz.isPresent()) b.append(" tsc_early_khz=").append(tscKhz.getAsLong()).append(" tsc=reliable");
    if (!fromManifest.isBlank()) b.append(' ').append(fromManifest.strip());
    return b.toString();
  }

  // ---- create -------------------------------------------------------------------------------

  public Sandbox create(CreateSandbox req) throws InterruptedException {
    Template template = templates.ready(req.template());
    int vcpus = req.vcpus().orElse(limits.defaults().vcpus());
    long memoryMib = req.memoryMib().orElse(limits.defaults().memoryMib());
    long timeout = req.timeoutSeconds().orElse(limits.defaults().timeoutSeconds());
    limits.check(vcpus, memoryMib, timeout);
    OptionalLong growTo = diskGrowth(template, req.diskMib());
    NetworkSpec network = req.network().orElseGet(() -> networks.defaultMode() == NetworkMode.INTERNET ? NetworkSpec.INTERNET : NetworkSpec.NONE);
    networks.checkAttachable(network);
    // Pool VMs have no network device; a sandbox with a network restores from the networked snapshot.
    Optional<WarmPools.PoolVm> pooled = req.boot().isPresent() || network.hasDevice() ? Optional.empty() : pools.claim(template, vcpus, memoryMib);
    Sandbox created = launchNew(template, req, network, pooled, vcpus, memoryMib, timeout);
    if (growTo.isEmpty()) return created;
    growDisk(created.id(), growTo.getAsLong());
    return get(created.id());
  }

  /**
   * The root disk size a create asks for, in bytes, if it is more than the template's; a size below
   * the template's, or growth beyond the free space of the data directory, is refused.
   */
  private OptionalLong diskGrowth(Template template, OptionalLong diskMib) {
    if (diskMib.isEmpty()) return OptionalLong.empty();
    long templateBytes;
    long freeBytes;
    try {
      templateBytes = Files.size(template.rootfs().orElseThrow());
      freeBytes = disks.usableSpace();
    } catch (IOException e) {
      throw new KilnException(ErrorCode.INTERNAL, "cannot size the template's disk: " + e.getMessage(), e);
    }
    long want = diskMib.getAsLong() << 20;
    if (diskMib.getAsLong() < 1 || diskMib.getAsLong() > MAX_DISK_MIB || want < templateBytes) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'diskMib' must be " + ((templateBytes + (1 << 20) - 1) >> 20) + ".." + MAX_DISK_MIB
          + " (MiB: no smaller than the template's size, " + template.name() + " has " + ((templateBytes + (1 << 20) - 1) >> 20) + " MiB; at most 16 TiB), got "
          + diskMib.getAsLong());
    }
    // The layer is sparse, but a sandbox promised this much may write it all: the host must have it.
    if (want - templateBytes > freeBytes) {
      throw new KilnException(ErrorCode.INSUFFICIENT_CAPACITY, "field 'diskMib' " + diskMib.getAsLong() + " needs " + ((want - templateBytes) >> 20)
          + " MiB beyond the template; the data directory has " + (freeBytes >> 20) + " MiB free");
    }
    return want > templateBytes ? OptionalLong.of(want) : OptionalLong.empty();
  }

  /** Grows a new sandbox's disk and its root filesystem online; a failure deletes the sandbox (it is not what was asked for). */
  private void growDisk(String id, long bytes) throws InterruptedException {
    underLifecycleLock(id, (sb, r) -> {
      try {
        sb.vm.growRootDisk(bytes);
        long fs = sb.agent.files().growRoot(bytes);
        log.info("sandbox disk grown sandbox={} disk_mib={} filesystem_mib={}", id, bytes >> 20, fs >> 20);
        return null;
      } catch (VmmException | AgentException | RuntimeException e) {
        discard(id);
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " could not grow its disk to " + (bytes >> 20) + " MiB: " + e.getMessage(), e);
      }
    });
  }

  private Sandbox launchNew(Template template, CreateSandbox req, NetworkSpec network, Optional<WarmPools.PoolVm> pooled, int vcpus, long memoryMib,
      long timeout) throws InterruptedException {
    SandboxId id = pooled.map(WarmPools.PoolVm::id).orElseGet(SandboxId::random);
    Instant now = Instant.now();
    Optional<Instant> expires = timeout == 0 ? Optional.empty() : Optional.of(now.plusSeconds(timeout));
    SandboxRow row = new SandboxRow(id.value(), template.name(), SandboxState.CREATING.name(), vcpus, memoryMib, timeout, json(req.env()),
        json(req.metadata()), Optional.empty(), OptionalLong.empty(), Optional.empty(), now, expires, req.onTimeout().name());
    return launch(row, (sb, runDir) -> {
      if (pooled.isPresent()) {
        // Restored and paused already: let it run; attach's HELLO gives it its identity, clock and entropy.
        sb.vm = pooled.get().vm();
        sb.vm.resume();
        return new Started(pooled.get().spec(), "claimed from the warm pool", true);
      }
      Optional<VmSpec.Nic> nic = networks.attach(id.value(), network);
      String whyBoot;
      if (req.boot().isPresent()) {
        whyBoot = "a test boot variant (" + req.boot().get() + ") never restores";
      } else {
        TemplateSnapshots.Lookup found = snapshotFor(template, vcpus, memoryMib, nic.isPresent());
        if (found.snapshot().isPresent()) {
          RestoreAttempt restored = restoreTemplateSnapshot(sb, runDir, found.snapshot().get(), nic);
          if (restored.spec().isPresent()) return new Started(restored.spec().get(), "restored from the template snapshot", true);
          whyBoot = "the template snapshot did not restore (" + restored.failure() + ")";
        } else {
          whyBoot = found.whyNot();
        }
      }
      Path initrd = req.boot().isPresent() ? artifacts.hostileInitrd() : artifacts.initrd();
      return onNewLayer(template.rootfs().orElseThrow(), Overlay.BaseFormat.RAW, layer -> {
        VmSpec spec = new VmSpec(id.value(), runDir, artifacts.kernel(), initrd, snapshots.cmdlineFor(nic), layer, vcpus, memoryMib, accelerator).withNic(nic);
        sb.vm = backend.start(spec);
        return new Started(spec, "booted: " + whyBoot, false);
      });
    });
  }

  /**
   * The template snapshot a new sandbox of this size can restore from, or why there is none, in
   * words for its "created" event: being taken right now, failed, turned off, or taken at another
   * size (the snapshot's own reasons).
   */
  private TemplateSnapshots.Lookup snapshotFor(Template template, int vcpus, long memoryMib, boolean network) {
    if (template.status() == Template.Status.SNAPSHOTTING) {
      return TemplateSnapshots.Lookup.none("template snapshot not taken yet (template '" + template.name() + "' is being snapshotted now; "
          + "sandboxes created once it is ready restore from it)");
    }
    TemplateSnapshots.Lookup found = snapshots.find(template, vcpus, memoryMib, network);
    if (found.snapshot().isPresent() || found.snapshotExists()) return found;
    String failed = snapshotFailures.get(template.name());
    if (failed != null) return TemplateSnapshots.Lookup.none("the snapshot of template '" + template.name() + "' failed: " + failed);
    if (!templates.snapshotsEnabled()) {
      return TemplateSnapshots.Lookup.none("template '" + template.name() + "' has no snapshot, and this daemon takes none (templateSnapshots is false)");
    }
    return found;
  }

  /** Starts a VM on a disk layer. */
  interface LayerStart {
    Started start(Path layer) throws IOException, VmmException, AgentException, InterruptedException;
  }

  /** Makes a new disk layer on {@code base} and starts a VM on it; the layer is discarded if the start fails. */
  Started onNewLayer(Path base, Overlay.BaseFormat format, LayerStart start) throws IOException, VmmException, AgentException, InterruptedException {
    Path layer = disks.create(base, format);
    try {
      return start.start(layer);
    } catch (IOException | VmmException | AgentException | InterruptedException | RuntimeException e) {
      disks.discard(layer);
      throw e;
    }
  }

  /**
   * How a sandbox's VM came up: its spec, in words for its events, whether from saved state, and
   * whether that state is the sandbox's own from a moment ago (a pause), so the agent session and
   * the commands running in it are taken back rather than ended.
   */
  record Started(VmSpec spec, String how, boolean restored, boolean resumesSession) {
    Started(VmSpec spec, String how, boolean restored) {
      this(spec, how, restored, false);
    }
  }

  /** Brings up the VM of a sandbox whose row is being inserted; sets {@code sb.vm}. */
  interface VmStarter {
    Started start(LiveSandbox sb, Path runDir) throws IOException, VmmException, AgentException, InterruptedException;
  }

  /**
   * Inserts the sandbox's row, brings up its VM with {@code starter} and its agent, and records it
   * running. On any failure everything is undone (VM, files, row) and the error says why.
   */
  Sandbox launch(SandboxRow row, VmStarter starter) throws InterruptedException {
    SandboxId id = new SandboxId(row.id());
    Path runDir = sandboxesDir.resolve(id.value());
    if (runDir.resolve("agent.sock").toString().length() > MAX_SOCKET_PATH) {
      throw new KilnException(ErrorCode.INTERNAL, "data directory path is too long for Unix sockets: " + runDir.resolve("agent.sock"));
    }
    repo.insert(row);
    LiveSandbox sb = live.add(id);
    sb.lifecycle.lock();
    long start = System.nanoTime();
    Optional<Path> layer = Optional.empty();
    try {
      Files.createDirectories(runDir);
      Started started = starter.start(sb, runDir);
      layer = Optional.of(started.spec().rootDisk());
      attach(sb, started);
      events.append(id.value(), "created", started.how());
      log.info("sandbox created sandbox={} template={} how=\"{}\" vcpus={} memory_mib={} ttl_s={} took_ms={}", id, row.template(),
          started.how(), row.vcpus(), row.memoryMib(), row.timeoutSeconds(), (System.nanoTime() - start) / 1_000_000);
      return get(id.value());
    } catch (IOException | VmmException | AgentException | RuntimeException e) {
      boolean bug = e instanceof RuntimeException && !(e instanceof KilnException);
      String reason = bug ? "internal error (in the daemon's log)" : e.getMessage();
      String console = consoleTail(runDir);
      if (bug) log.error("sandbox create failed on a bug sandbox={}", id, e);
      log.warn("sandbox create failed sandbox={} reason=\"{}\" console=\"{}\"", id, reason, console);
      teardown(sb, runDir);
      networks.release(id.value());
      repo.delete(id.value());
      live.removeDeleted(sb);
      layer.ifPresent(disks::discard);
      collectDisks();
      if (e instanceof KilnException ke) throw ke;
      throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " did not start: " + reason
          + (console.isEmpty() ? "" : "; guest console ends with: " + console), e);
    } finally {
      sb.lifecycle.unlock();
    }
  }

  /**
   * Connects to the agent of the sandbox's new VM (a HELLO: fresh clock, entropy, identity) and
   * records it running on that VM and disk.
   */
  void attach(LiveSandbox sb, Started started) throws AgentException, InterruptedException {
    VmSpec spec = started.spec();
    String id = sb.id.value();
    seam.at(LifecycleSeam.Point.VM_STARTED, id);
    sb.stopping = false;
    repo.recordVm(id, VmRecord.toJson(spec), sb.vm.pid());
    disks.recorded(spec.rootDisk());
    watch(sb);
    sb.agent = started.resumesSession() ? AgentConnection.resume(spec.agentSocket(), id, bootTimeout, cause -> onAgentBroken(sb, cause))
        : AgentConnection.open(spec.agentSocket(), id, bootTimeout, cause -> onAgentBroken(sb, cause));
    for (AgentListener l : agentListeners) l.attached(id, sb.agent);
    // Integrity probe after a restore (a boot mounted the root itself, just now): the agent answers
    // (the HELLO above) and the restored root filesystem answers a stat.
    if (started.restored()) sb.agent.files().stat("/");
    repo.updateState(id, SandboxState.RUNNING.name(), Optional.of(VmRecord.toJson(spec)), OptionalLong.of(sb.vm.pid()), Optional.empty());
  }

  /**
   * Restores the sandbox's VM from the template snapshot. A snapshot that fails its checksum or
   * does not restore is logged and the sandbox boots cold instead: slower, never broken.
   */
  private RestoreAttempt restoreTemplateSnapshot(LiveSandbox sb, Path runDir, TemplateSnapshots.Snapshot snap, Optional<VmSpec.Nic> nic)
      throws InterruptedException {
    Path layer = null;
    try {
      snapshots.verify(snap);
      layer = disks.create(snap.disk(), Overlay.BaseFormat.QCOW2);
      VmSpec spec = snapshots.cloneSpec(snap, sb.id.value(), runDir, layer, nic);
      sb.vm = backend.restore(spec, snap.state(), bootTimeout);
      return new RestoreAttempt(Optional.of(spec), "");
    } catch (IOException | VmmException | RuntimeException e) {
      log.warn("sandbox={} restore from snapshot {} failed, booting cold instead: {}", sb.id, snap.dir(), e.getMessage());
      events.append(sb.id.value(), "fallback", "the template snapshot did not restore (" + e.getMessage() + "); booting instead, which is slower");
      sb.vm = null;
      if (layer != null) disks.discard(layer);
      return new RestoreAttempt(Optional.empty(), e.getMessage() == null ? "internal error" : e.getMessage());
    }
  }

  /** A restore from the template snapshot: the VM's spec, or why it did not restore. */
  private record RestoreAttempt(Optional<VmSpec> spec, String failure) {}

  /**
   * Restores a VM from a saved state (a pause, a checkpoint) after checking it against its
   * checksum. If it will not load, the VM boots from its disk instead: its files survive, its
   * processes do not, and the sandbox's events say so.
   */
  Started restoreOrBoot(LiveSandbox sb, VmSpec spec, Path state, String stateSha256, String what) throws VmmException, InterruptedException {
    return restoreOrBoot(sb, spec, state, stateSha256, what, false);
  }

  private Started restoreOrBoot(LiveSandbox sb, VmSpec spec, Path state, String stateSha256, String what, boolean ownState)
      throws VmmException, InterruptedException {
    try {
      verifiedStates.verify(state, stateSha256);
      sb.vm = backend.restore(spec, state, bootTimeout);
      return new Started(spec, "restored from " + what, true, ownState);
    } catch (IOException | VmmException e) {
      String how = "booted from the disk of " + what + ": its saved state did not load (" + e.getMessage() + "); files are kept, processes are lost";
      log.warn("sandbox={} {}", sb.id, how);
      events.append(sb.id.value(), "fallback", how);
      VmSpec cold = spec.withoutMemory();
      sb.vm = backend.start(cold);
      return new Started(cold, how, false);
    }
  }

  /** Marks the sandbox failed when its VM exits without being asked to. */
  private void watch(LiveSandbox sb) {
    RunningVm vm = sb.vm;
    // Not on the thread that completes onExit (the JDK's process reaper, shared by every process):
    // the failure stops things, writes SQL and collects disk layers.
    vm.onExit().thenRunAsync(() -> {
      seam.at(LifecycleSeam.Point.VM_EXITED, sb.id.value());
      // sb.vm moves on when a pause stops this VM on purpose
      if (!sb.stopping && sb.vm == vm) fail(sb, "qemu pid " + vm.pid() + " exited unexpectedly");
    }, task -> Thread.ofVirtual().name("vm-exit-" + sb.id).start(task));
  }

  private void onAgentBroken(LiveSandbox sb, Throwable cause) {
    if (sb.stopping) return;
    Thread.ofVirtual().start(() -> {
      // A dying QEMU closes the agent socket a moment before its exit is seen: name the real cause.
      RunningVm vm = sb.vm;
      try {
        if (vm != null) vm.onExit().get(VM_EXIT_GRACE.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
      } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
        // still running: the channel itself is what broke
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      fail(sb, vm != null && !vm.isAlive() ? "qemu pid " + vm.pid() + " exited unexpectedly" : "agent channel broken: " + cause.getMessage());
    });
  }

  /**
   * A running sandbox went bad: record why, stop its VM and remove its files. The row stays, in
   * state error, until the client deletes it (or its TTL does), so the client can see what happened.
   */
  void fail(LiveSandbox sb, String reason) {
    sb.lifecycle.lock();
    try {
      if (sb.stopping || sb.deleted) return;
      sb.stopping = true;
      seam.at(LifecycleSeam.Point.FAILING, sb.id.value());
      log.error("sandbox failed sandbox={} reason=\"{}\"", sb.id, reason);
      teardown(sb, sandboxesDir.resolve(sb.id.value()));
      if (repo.find(sb.id.value()).isPresent()) {
        repo.updateState(sb.id.value(), SandboxState.ERROR.name(), Optional.empty(), OptionalLong.empty(), Optional.of(reason));
        events.append(sb.id.value(), "failed", reason);
      }
      // The entry stays (the row does, in state error): the next operation takes this same lock.
      sb.vm = null;
      sb.agent = null;
      collectDisks();
    } finally {
      sb.lifecycle.unlock();
    }
  }

  /** Stops the VM and removes the run directory; safe to call on a half-created sandbox. */
  private void teardown(LiveSandbox sb, Path runDir) {
    sb.stopping = true;
    if (sb.agent != null) sb.agent.close();
    try {
      if (sb.vm != null) sb.vm.stop(STOP_GRACE);
    } catch (VmmException e) {
      log.error("sandbox={} could not stop its VM: {}", sb.id, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      AtomicFiles.deleteTree(runDir);
    } catch (IOException e) {
      log.warn("sandbox={} run directory {} not fully removed: {}", sb.id, runDir, e.toString());
    }
  }

  // ---- read ---------------------------------------------------------------------------------

  public Sandbox get(String id) {
    return toView(row(id));
  }

  public List<Sandbox> list() {
    return repo.all().stream().map(this::toView).toList();
  }

  /** The sandbox's row; an id that is gone is a 404 saying when and why (its tombstone), any other a plain 404. */
  private SandboxRow row(String id) {
    if (!SandboxId.isValid(id)) throw notFound(id);
    return repo.find(id).orElseThrow(() -> tombstones.gone(id).orElseGet(() -> notFound(id)));
  }

  /** The 404 for an id whose registry entry is gone: its tombstone's words if it has one. */
  private KilnException gone(String id) {
    return tombstones.gone(id).orElseGet(() -> notFound(id));
  }

  private static KilnException notFound(String id) {
    return new KilnException(ErrorCode.SANDBOX_NOT_FOUND, "no sandbox '" + id + "' on this host");
  }

  /** The live agent of a running sandbox, or a clear error saying why there is none. */
  AgentConnection agent(String id) throws InterruptedException {
    SandboxRow r = row(id);
    if (SandboxState.PAUSED.name().equals(r.state())) {
      resume(id); // any data-plane request wakes a paused sandbox
      r = row(id);
    }
    LiveSandbox sb = live.find(new SandboxId(id)).orElse(null);
    if (sb == null || sb.agent == null || !SandboxState.RUNNING.name().equals(r.state())) {
      throw new KilnException(ErrorCode.SANDBOX_NOT_RUNNING, "sandbox " + id + " is " + r.state().toLowerCase()
          + r.error().map(e -> " (" + e + ")").orElse("") + ", not running");
    }
    return sb.agent;
  }

  /**
   * The environment every exec in the sandbox starts from: the image's Env, then the sandbox's own
   * env from create (which wins on a clash).
   */
  Map<String, String> env(String id) {
    Map<String, String> env = new java.util.LinkedHashMap<>();
    for (String kv : imageConfig(id).env()) {
      int eq = kv.indexOf('=');
      if (eq > 0) env.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    try {
      env.putAll(JSON.readValue(row(id).envJson(), new TypeReference<Map<String, String>>() {}));
    } catch (JsonProcessingException e) {
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + id + " has unreadable env in the store", e);
    }
    return env;
  }

  /** The config of the image the sandbox's template came from: exec defaults (user, working directory). */
  public ImageConfig imageConfig(String id) {
    return templates.find(row(id).template()).map(Template::config).orElse(ImageConfig.NONE);
  }

  // ---- delete and TTL -----------------------------------------------------------------------

  /**
   * Deletes a sandbox in any state, for its owner: its tombstone remembers when and that it was
   * deleted. Idempotent while the row exists; afterwards the id answers 404 SANDBOX_DELETED.
   */
  public void delete(String id) {
    remove(id, Optional.of(Tombstones.Reason.DELETED));
  }

  /** Deletes a sandbox the client never got (its create or fork failed): nothing is remembered. */
  void discard(String id) {
    remove(id, Optional.empty());
  }

  private void remove(String id, Optional<Tombstones.Reason> reason) {
    try {
      underLifecycleLock(id, (sb, r) -> {
        removeLocked(sb, r, reason);
        return null;
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // a delete is not interruptible: it ran to its end
    }
  }

  /**
   * Tears the sandbox down and removes its row (leaving a tombstone when {@code reason} is
   * present) and then its registry entry; the caller holds its lock.
   */
  private void removeLocked(LiveSandbox sb, SandboxRow r, Optional<Tombstones.Reason> reason) {
    String id = r.id();
    repo.updateState(id, SandboxState.STOPPING.name(), r.vmJson(), r.pid(), r.error());
    teardown(sb, sandboxesDir.resolve(id));
    checkpoints.removeFilesOf(id);
    networks.release(id);
    if (reason.isPresent()) {
      events.append(id, reason.get().name().toLowerCase(java.util.Locale.ROOT), Tombstones.lastWords(r, reason.get()));
      tombstones.bury(r, reason.get(), Instant.now()); // its checkpoints and network row go with the row (ON DELETE CASCADE)
    } else {
      repo.delete(id); // and its events
    }
    live.removeDeleted(sb);
    collectDisks();
    deletedListeners.forEach(l -> l.accept(id));
    log.info("sandbox deleted sandbox={} reason={}", id, reason.map(Enum::name).orElse("DISCARDED"));
  }

  // ---- pause and resume ---------------------------------------------------------------------

  /**
   * Saves the whole VM (RAM and devices; the disk overlay is already on disk) into the sandbox's
   * run directory and stops QEMU: a paused sandbox holds no RAM and no CPU. Its processes carry on
   * where they were when it is resumed.
   */
  public Sandbox pause(String id) throws InterruptedException {
    return underLifecycleLock(id, this::pauseLocked);
  }

  /** The pause itself; the caller holds the sandbox's lock, and {@code r} is its row as it is now. */
  private Sandbox pauseLocked(LiveSandbox sb, SandboxRow r) throws InterruptedException {
    String id = r.id();
    if (!SandboxState.RUNNING.name().equals(r.state()) || sb.vm == null) {
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is " + r.state().toLowerCase() + "; only a running sandbox can be paused");
    }
    long start = System.nanoTime();
    RunningVm vm = sb.vm;
    SavedState state;
    try {
      state = vm.saveState(sandboxesDir.resolve(id).resolve(PAUSED_STATE), PAUSE_TIMEOUT);
      AtomicFiles.write(sandboxesDir.resolve(id).resolve(PAUSED_STATE_SHA256), state.sha256().getBytes(java.nio.charset.StandardCharsets.US_ASCII));
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
    for (AgentListener l : agentListeners) l.detaching(id);
    if (sb.agent != null) sb.agent.close();
    sb.agent = null;
    try {
      vm.stop(STOP_GRACE);
    } catch (VmmException e) {
      log.warn("sandbox={} paused but its QEMU did not stop cleanly: {}", id, e.getMessage());
    }
    repo.updateState(id, SandboxState.PAUSED.name(), r.vmJson(), OptionalLong.empty(), Optional.empty());
    events.append(id, "paused", "state saved (" + (state.bytes() >> 20) + " MiB); the VM holds no RAM or CPU");
    log.info("sandbox paused sandbox={} state_mib={} took_ms={}", id, state.bytes() >> 20, (System.nanoTime() - start) / 1_000_000);
    return get(id);
  }

  /**
   * Brings a paused sandbox back from its saved state. If the state cannot be restored the sandbox
   * boots from its disk instead (its files survive, its processes do not) and its events say so.
   */
  public Sandbox resume(String id) throws InterruptedException {
    return underLifecycleLock(id, (sb, r) -> {
      if (SandboxState.RUNNING.name().equals(r.state())) return get(id);
      if (!SandboxState.PAUSED.name().equals(r.state())) {
        throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is " + r.state().toLowerCase() + "; only a paused sandbox can be resumed");
      }
      long start = System.nanoTime();
      Path runDir = sandboxesDir.resolve(id);
      try {
        String sha = Files.exists(runDir.resolve(PAUSED_STATE_SHA256)) ? Files.readString(runDir.resolve(PAUSED_STATE_SHA256)).strip() : "";
        Started started = restoreOrBoot(sb, vmSpecOf(r), runDir.resolve(PAUSED_STATE), sha, "its pause", true);
        attach(sb, started);
        if (r.expiresAt().isEmpty() && r.timeoutSeconds() > 0) {
          repo.updateExpiry(id, r.timeoutSeconds(), Optional.of(Instant.now().plusSeconds(r.timeoutSeconds()))); // paused by its TTL
        }
        Files.deleteIfExists(runDir.resolve(PAUSED_STATE));
        Files.deleteIfExists(runDir.resolve(PAUSED_STATE_SHA256));
        events.append(id, "resumed", started.how());
        log.info("sandbox resumed sandbox={} how=\"{}\" took_ms={}", id, started.how(), (System.nanoTime() - start) / 1_000_000);
      } catch (VmmException | AgentException | IOException e) {
        fail(sb, "resume failed: " + e.getMessage());
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " could not be resumed: " + e.getMessage(), e);
      }
      return get(id);
    });
  }

  /**
   * Shuts the sandbox's VM down and keeps its disk: no RAM, no CPU, no saved memory state. A start
   * boots it from that disk. The guest's filesystems are synced first, so what it wrote is kept.
   */
  public Sandbox stop(String id) throws InterruptedException {
    return underLifecycleLock(id, (sb, r) -> {
      SandboxState state = SandboxState.valueOf(r.state());
      if (state == SandboxState.STOPPED) return get(id);
      if (state != SandboxState.RUNNING && state != SandboxState.PAUSED) {
        throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is " + state.wire() + "; only a running or paused sandbox can be stopped");
      }
      if (sb.agent != null) {
        try {
          sb.agent.files().sync();
        } catch (AgentException e) {
          log.warn("sandbox={} did not sync before its stop (what it had not written is lost): {}", id, e.getMessage());
        }
      }
      stopForReplacement(sb);
      repo.updateState(id, SandboxState.STOPPED.name(), r.vmJson(), OptionalLong.empty(), Optional.empty());
      events.append(id, "stopped", "VM shut down; its disk is kept");
      log.info("sandbox stopped sandbox={}", id);
      return get(id);
    });
  }

  /** Boots a stopped sandbox from its disk. */
  public Sandbox start(String id) throws InterruptedException {
    return underLifecycleLock(id, (sb, r) -> {
      SandboxState state = SandboxState.valueOf(r.state());
      if (state == SandboxState.RUNNING) return get(id);
      if (state != SandboxState.STOPPED) {
        throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is " + state.wire() + "; only a stopped sandbox can be started");
      }
      long begin = System.nanoTime();
      VmSpec spec = vmSpecOf(r).withoutMemory();
      try {
        sb.vm = backend.start(spec);
        attach(sb, new Started(spec, "booted from its disk", false));
      } catch (VmmException | AgentException e) {
        fail(sb, "start failed: " + e.getMessage());
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " could not be started: " + e.getMessage(), e);
      }
      events.append(id, "started", "booted from its disk");
      log.info("sandbox started sandbox={} took_ms={}", id, (System.nanoTime() - begin) / 1_000_000);
      return get(id);
    });
  }

  /** Stops a sandbox's VM (and forgets its paused state) so that another can take its place. */
  void stopForReplacement(LiveSandbox sb) throws InterruptedException {
    RunningVm vm = sb.vm;
    sb.vm = null; // its exit is expected now
    sb.stopping = true;
    if (sb.agent != null) sb.agent.close();
    sb.agent = null;
    try {
      if (vm != null) vm.stop(STOP_GRACE);
      Files.deleteIfExists(sandboxesDir.resolve(sb.id.value()).resolve(PAUSED_STATE));
      Files.deleteIfExists(sandboxesDir.resolve(sb.id.value()).resolve(PAUSED_STATE_SHA256));
    } catch (VmmException | IOException e) {
      log.warn("sandbox={} old VM not fully stopped before its replacement: {}", sb.id, e.getMessage());
    }
  }

  /** The VM a sandbox row records. */
  static VmSpec vmSpecOf(SandboxRow r) {
    try {
      return VmRecord.fromJson(r.vmJson().orElseThrow(() -> new KilnException(ErrorCode.INTERNAL, "sandbox " + r.id() + " has no VM record")));
    } catch (JsonProcessingException e) {
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + r.id() + " has an unreadable VM record", e);
    }
  }

  interface LockedTransition<T> {
    T apply(LiveSandbox sb, SandboxRow current) throws InterruptedException;
  }

  /** Runs a transition holding the sandbox's lifecycle lock, on its row as it is once the lock is held. */
  <T> T underLifecycleLock(String id, LockedTransition<T> t) throws InterruptedException {
    row(id);
    // Empty: deleted while this waited (or before): the row's tombstone says so.
    LiveSandbox sb = live.lock(new SandboxId(id), seam).orElseThrow(() -> gone(id));
    try {
      SandboxRow r = row(id);
      seam.at(LifecycleSeam.Point.ACTING, id);
      return t.apply(sb, r);
    } finally {
      sb.lifecycle.unlock();
    }
  }

  /** Sets a new TTL counted from now; 0 removes the limit. */
  public Sandbox setTimeout(String id, long timeoutSeconds) {
    limits.checkTimeout(timeoutSeconds);
    try {
      // Under the lock, like every TTL change: an expiry deciding on the old TTL finishes first.
      return underLifecycleLock(id, (sb, r) -> {
        Optional<Instant> expires = timeoutSeconds == 0 ? Optional.empty() : Optional.of(Instant.now().plusSeconds(timeoutSeconds));
        repo.updateExpiry(id, timeoutSeconds, expires);
        return get(id);
      });
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt(); // the lock is taken uninterruptibly: not reached
      throw new KilnException(ErrorCode.INTERNAL, "interrupted while changing the TTL of " + id, e);
    }
  }

  /**
   * Deletes (or pauses, by its onTimeout) every sandbox whose TTL has passed, leaving an EXPIRED
   * tombstone, and purges the tombstones whose retention is over; returns once this pass's
   * expiries are done (for tests and tools: the daemon's reaper uses {@link #reapExpiredInBackground}).
   */
  public void reapExpired(Instant now) throws InterruptedException {
    for (Thread t : ttl.pass(now)) t.join();
    purgeTombstones(now);
  }

  /** One reaper pass, every second: each expiry runs on its own virtual thread ({@link TtlReaper}), and this returns at once. */
  public void reapExpiredInBackground(Instant now) {
    ttl.pass(now);
    purgeTombstones(now);
  }

  private void purgeTombstones(Instant now) {
    int purged = tombstones.purge(now);
    if (purged > 0) log.info("sandbox tombstones purged count={}", purged);
  }

  /**
   * One expiry, decided and done inside the sandbox's locked transition, on its row as it is then:
   * a TTL changed, a resume or a delete that ran first are seen, and a TTL pause clears the
   * expiry in the same transition (a resume that follows starts the TTL again).
   */
  void expire(String id, Instant now) throws InterruptedException {
    boolean paused = underLifecycleLock(id, (sb, r) -> {
      if (!TtlReaper.due(r, now)) return false; // extended, resumed or paused meanwhile
      boolean pause = CreateSandbox.OnTimeout.PAUSE.name().equals(r.onTimeout()) && SandboxState.RUNNING.name().equals(r.state());
      log.info("sandbox ttl expired sandbox={} expired_at={} action={}", id, r.expiresAt().orElseThrow(), pause ? "pause" : "delete");
      if (!pause) {
        removeLocked(sb, r, Optional.of(Tombstones.Reason.EXPIRED));
        return false;
      }
      pauseLocked(sb, r);
      // A paused sandbox costs no RAM or CPU; its TTL starts again when it is resumed.
      repo.updateExpiry(id, r.timeoutSeconds(), Optional.empty());
      return true;
    });
    if (paused) seam.at(LifecycleSeam.Point.TTL_PAUSED, id);
  }

  // ---- restart recovery ---------------------------------------------------------------------

  /**
   * Re-adopts the VMs a previous daemon left running: each must still be the same QEMU process and
   * its agent must answer again. Anything else is marked error and cleaned up.
   */
  public void recover() {
    removeLeftoverRunDirs();
    collectDisks();
    networks.adoptAll(id -> repo.find(id).isPresent());
    for (SandboxRow r : repo.all()) {
      SandboxState state = SandboxState.valueOf(r.state());
      LiveSandbox sb = live.add(new SandboxId(r.id()));
      switch (state) {
        case RUNNING -> readopt(sb, r);
        case CREATING -> {
          // The VM may be half-booted; take hold of it only to stop it.
          adoptVmQuietly(sb, r);
          fail(sb, "the daemon restarted while the sandbox was being created");
        }
        case STOPPING -> {
          adoptVmQuietly(sb, r);
          delete(r.id());
        }
        case ERROR, PAUSED, STOPPED -> { } // nothing runs: its saved state or its disk waits, or the client reads why it failed
      }
    }
  }

  /**
   * Run directories without a sandbox row belong to VMs no daemon will adopt: pool and snapshot
   * VMs of a daemon that crashed, sandboxes whose create it crashed in. Their VMs are killed.
   */
  private void removeLeftoverRunDirs() {
    if (!Files.isDirectory(sandboxesDir)) return;
    Set<String> known = new HashSet<>();
    repo.all().forEach(r -> known.add(r.id()));
    try (var runs = Files.newDirectoryStream(sandboxesDir)) {
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
    } catch (VmmException | JsonProcessingException e) {
      log.info("sandbox={} has no VM to take over: {}", r.id(), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private VmSpec adoptVm(LiveSandbox sb, SandboxRow r) throws VmmException, JsonProcessingException, InterruptedException {
    if (r.vmJson().isEmpty() || r.pid().isEmpty()) throw new VmmException("no VM recorded");
    VmSpec spec = VmRecord.fromJson(r.vmJson().get());
    sb.vm = backend.adopt(spec, r.pid().getAsLong());
    return spec;
  }

  private void readopt(LiveSandbox sb, SandboxRow r) {
    try {
      VmSpec spec = adoptVm(sb, r);
      watch(sb);
      sb.agent = AgentConnection.resume(spec.agentSocket(), r.id(), Duration.ofSeconds(10), cause -> onAgentBroken(sb, cause));
      for (AgentListener l : agentListeners) l.attached(r.id(), sb.agent);
      log.info("sandbox re-adopted sandbox={} pid={} running_commands={}", r.id(), sb.vm.pid(), sb.agent.resumedExecs().size());
    } catch (VmmException | AgentException | JsonProcessingException | RuntimeException e) {
      fail(sb, "could not re-adopt after daemon restart: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Closes agent channels but leaves VMs running: they are re-adopted by the next daemon. */
  @Override
  public void close() {
    pools.close();
    snapshots.abortAll();
    for (Thread t : snapshotting) {
      try {
        if (!t.join(SNAPSHOT_ABORT_WAIT)) log.warn("an aborted template snapshot did not finish its cleanup within {} s", SNAPSHOT_ABORT_WAIT.toSeconds());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    for (LiveSandbox sb : live.all()) {
      sb.stopping = true;
      if (sb.agent != null) sb.agent.close();
      if (sb.vm != null) sb.vm.detach();
    }
    live.clear();
  }

  /** Stops every VM and removes every sandbox: for tests and benchmarks that own the data dir. */
  public void deleteAll() {
    for (SandboxRow r : repo.all()) delete(r.id());
  }

  // ---- checkpoints and forks ----------------------------------------------------------------

  public Checkpoints checkpoints() {
    return checkpoints;
  }

  public SandboxNetworks networks() {
    return networks;
  }

  /** Replaces a sandbox's egress rules and bandwidth; they apply at once, in any state that keeps its namespace. */
  public Sandbox updateNetwork(String id, dev.kiln.net.EgressPolicy egress, int egressMbit, int ingressMbit) throws InterruptedException {
    return underLifecycleLock(id, (sb, r) -> {
      try {
        networks.update(id, egress, egressMbit, ingressMbit);
      } catch (IllegalArgumentException e) {
        throw new KilnException(ErrorCode.INVALID_REQUEST, "network: " + e.getMessage(), e);
      }
      events.append(id, "network", "rules changed: allowOut=" + egress.allowOut() + " denyOut=" + egress.denyOut() + " egressMbit=" + egressMbit
          + " ingressMbit=" + ingressMbit);
      return get(id);
    });
  }

  public SandboxNetworks.Forward addForward(String id, int guestPort, int hostPort) throws InterruptedException {
    return underLifecycleLock(id, (sb, r) -> networks.addForward(id, guestPort, hostPort));
  }

  public List<SandboxNetworks.Forward> forwards(String id) {
    row(id);
    return networks.forwards(id);
  }

  public void removeForward(String id, int hostPort) throws InterruptedException {
    underLifecycleLock(id, (sb, r) -> {
      networks.removeForward(id, hostPort);
      return null;
    });
  }

  public WarmPools pools() {
    return pools;
  }

  /** A sandbox's events, also while it is a tombstone (the last one says how it ended). */
  public List<EventRepository.Event> events(String id) {
    if (!SandboxId.isValid(id) || repo.find(id).isEmpty() && !tombstones.exists(id)) throw notFound(id);
    return events.of(id);
  }

  /** Removes the disk layers that no sandbox and no checkpoint is built on any more. */
  void collectDisks() {
    disks.collect(() -> {
      Set<Path> roots = new HashSet<>();
      for (SandboxRow r : repo.all()) {
        if (r.vmJson().isPresent()) roots.add(vmSpecOf(r).rootDisk());
      }
      for (var c : checkpointRows.all()) roots.add(Path.of(c.diskPath()));
      return roots;
    });
  }

  /** Called with a sandbox's id once it is deleted. */
  /** Told when a sandbox's agent session is about to be closed for a pause, and when a session is opened (new or resumed). */
  public interface AgentListener {
    void detaching(String sandboxId);

    /** {@code agent.resumedExecs()} holds the commands a resumed session kept; a new session kept none. */
    void attached(String sandboxId, AgentConnection agent);
  }

  public void onAgent(AgentListener listener) {
    agentListeners.add(listener);
  }

  public void onDeleted(java.util.function.Consumer<String> listener) {
    deletedListeners.add(listener);
  }

  SandboxRow rowOf(String id) {
    return row(id);
  }

  SandboxLimits limits() {
    return limits;
  }

  // ---- helpers ------------------------------------------------------------------------------

  private Sandbox toView(SandboxRow r) {
    Map<String, String> metadata;
    try {
      metadata = JSON.readValue(r.metadataJson(), new TypeReference<Map<String, String>>() {});
    } catch (JsonProcessingException e) {
      metadata = Map.of();
    }
    // How the VM came to be: restored from the template snapshot (its RAM is a clone of the snapshot's) or booted.
    Optional<String> startedFrom = r.vmJson().map(j -> {
      try {
        return VmRecord.fromJson(j).memory().isPresent() ? "snapshot" : "boot";
      } catch (JsonProcessingException e) {
        return "unknown";
      }
    });
    OptionalLong diskMib = OptionalLong.empty();
    if (r.vmJson().isPresent()) {
      try {
        diskMib = OptionalLong.of(DiskLayers.virtualSize(VmRecord.fromJson(r.vmJson().get()).rootDisk()) >> 20);
      } catch (IOException e) {
        // a view without the disk size rather than no view
      }
    }
    return new Sandbox(r.id(), r.template(), SandboxState.valueOf(r.state()), r.vcpus(), r.memoryMib(), r.timeoutSeconds(), metadata,
        r.createdAt(), r.expiresAt(), r.error(), startedFrom, r.onTimeout().toLowerCase(), networks.view(r.id()), diskMib);
  }

  private static String json(Map<String, String> m) {
    try {
      return JSON.writeValueAsString(m);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a string map is always serializable", e);
    }
  }

  /** The last lines the guest printed, for boot failure messages (the run directory is removed after). */
  private static String consoleTail(Path runDir) {
    return new String(tail(runDir.resolve("console.log"), 1500), java.nio.charset.StandardCharsets.ISO_8859_1).strip();
  }

  /** At most the last {@code max} bytes of a file: the guest writes its console, so the file can be any size. */
  private static byte[] tail(Path file, int max) {
    try (var ch = Files.newByteChannel(file)) {
      long size = ch.size();
      java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate((int) Math.min(size, max));
      ch.position(size - buf.capacity());
      while (buf.hasRemaining() && ch.read(buf) >= 0) {
        // read until the tail is in
      }
      return java.util.Arrays.copyOf(buf.array(), buf.position());
    } catch (IOException e) {
      return new byte[0];
    }
  }

  /** The end of the sandbox's guest console (kernel and agent messages), while it has a run directory. */
  public byte[] console(String id, int maxBytes) {
    row(id);
    return tail(sandboxesDir.resolve(id).resolve("console.log"), maxBytes);
  }
}
