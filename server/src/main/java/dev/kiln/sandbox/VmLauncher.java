package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.Laps;
import dev.kiln.host.VerifiedFiles;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.DiskBase;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmBackend;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings up sandboxes' VMs, for every path that makes one: create, fork, claim from a warm pool,
 * resume, start, restore. A new sandbox's row goes in first (creating) and becomes running only
 * once its VM runs and its agent answered; anything that fails on the way is undone.
 */
final class VmLauncher {
  private static final Logger log = LoggerFactory.getLogger(VmLauncher.class);

  /** Brings up the VM of a sandbox whose row is being inserted; sets {@code sb.vm}. */
  interface VmStarter {
    Started start(LiveSandbox sb, Path runDir) throws IOException, VmmException, AgentException, InterruptedException;
  }

  /** Starts a VM on a disk layer. */
  interface LayerStart {
    Started start(Path layer) throws IOException, VmmException, AgentException, InterruptedException;
  }

  /**
   * How a sandbox's VM came up: its spec, in words for its events, whether from saved state, and
   * whether that state is the sandbox's own from a moment ago (a pause), so the agent session and
   * the commands running in it are taken back rather than ended. (A warm-pool VM does not come
   * through here: {@link #launchClaimed}.)
   */
  record Started(VmSpec spec, String how, boolean restored, boolean resumesSession) {
    Started(VmSpec spec, String how, boolean restored) {
      this(spec, how, restored, false);
    }

    /**
     * A state restored onto a disk it was not saved with is caught by a stat of the root: the
     * sandbox's own pause is on its own disk.
     */
    boolean needsProbe() {
      return restored && !resumesSession;
    }
  }

  /** How a sandbox made from a warm-pool VM came up, in its "created" event. */
  static final String CLAIMED = "claimed from the warm pool";
  private final RunDirs dirs;
  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final EventRepository events;
  private final SandboxRegistry live;
  private final DiskLayers disks;
  private final UnusedDisks unused;
  private final VmmBackend backend;
  private final SandboxNetworks networks;
  private final Watchdog watchdog;
  private final SandboxTeardown teardown;
  private final SandboxListeners listeners;
  private final Seams seam;
  private final Duration bootTimeout;
  /**
   * Saved states (pauses, checkpoints) checked before loading; a checkpoint forked ten times is read
   * once, and a state this daemon wrote (hashing it as it wrote) is not read again while unchanged.
   */
  private final VerifiedFiles verifiedStates;

  VmLauncher(RunDirs dirs, SandboxRepository repo, SandboxRows rows, EventRepository events, SandboxRegistry live, DiskLayers disks, UnusedDisks unused,
      VmmBackend backend, SandboxNetworks networks, Watchdog watchdog, SandboxTeardown teardown, SandboxListeners listeners, Seams seam,
      Duration bootTimeout, VerifiedFiles verifiedStates) {
    this.verifiedStates = verifiedStates;
    this.dirs = dirs;
    this.repo = repo;
    this.rows = rows;
    this.events = events;
    this.live = live;
    this.disks = disks;
    this.unused = unused;
    this.backend = backend;
    this.networks = networks;
    this.watchdog = watchdog;
    this.teardown = teardown;
    this.listeners = listeners;
    this.seam = seam;
    this.bootTimeout = bootTimeout;
  }

  /**
   * Refuses (QUOTA_EXCEEDED) {@code count} new sandboxes of this size that the owner's key has no
   * room for: a check ahead of the work, so that a refused request starts nothing. {@link #launch}
   * checks again where it writes the row, where the answer is final.
   */
  void checkRoom(String owner, int count, int vcpus, long memoryMib) {
    OwnerQuotas.reserve(() -> repo.checkRoom(owner, count, vcpus, memoryMib));
  }

  /**
   * Inserts the sandbox's row (creating), brings up its VM with {@code starter} and its agent, and
   * records it running. On any failure everything is undone (VM, files, row) and the error says why;
   * a row its owner's key has no room for is refused (QUOTA_EXCEEDED) before {@code starter} runs.
   * Returns the sandbox's id.
   */
  String launch(SandboxRow row, VmStarter starter) throws InterruptedException {
    return launch(row, starter, new Laps());
  }

  /** {@link #launch}, with the laps its caller began (the checks before it); the row's insert is the lap "row". */
  String launch(SandboxRow row, VmStarter starter, Laps laps) throws InterruptedException {
    SandboxId id = new SandboxId(row.id());
    Path runDir = dirs.of(id.value());
    if (!dirs.socketsFit(id.value())) {
      throw new KilnException(ErrorCode.INTERNAL, "data directory path is too long for Unix sockets: " + runDir.resolve("agent.sock"));
    }
    OwnerQuotas.reserve(() -> repo.insert(row));
    laps.lap("row");
    LiveSandbox sb = live.add(id);
    sb.lifecycle.lock();
    Optional<Path> layer = Optional.empty();
    try {
      Files.createDirectories(runDir);
      Started started = starter.start(sb, runDir);
      laps.lap("vm");
      layer = Optional.of(started.spec().rootDisk());
      attach(sb, started, SandboxState.CREATING, "created", SandboxRepository.ExpiryChange.KEEP, laps);
      logCreated(row, started.how(), laps);
      return id.value();
    } catch (IOException | VmmException | AgentException | RuntimeException e) {
      boolean bug = e instanceof RuntimeException && !(e instanceof KilnException);
      String reason = bug ? "internal error (in the daemon's log)" : e.getMessage();
      String console = new String(dev.kiln.vmm.ConsoleLog.tail(runDir.resolve("console.log"), 1500), java.nio.charset.StandardCharsets.ISO_8859_1).strip();
      if (bug) log.error("sandbox create failed on a bug sandbox={}", id, e);
      log.warn("sandbox create failed sandbox={} reason=\"{}\" console=\"{}\"", id, reason, console);
      teardown.teardown(sb);
      networks.release(id.value());
      repo.delete(id.value());
      live.removeDeleted(sb);
      layer.ifPresent(disks::discard);
      unused.collect();
      if (e instanceof KilnException ke) throw ke;
      throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " did not start: " + reason
          + (console.isEmpty() ? "" : "; guest console ends with: " + console), e);
    } finally {
      sb.lifecycle.unlock();
    }
  }

  private static void logCreated(SandboxRow row, String how, Laps laps) {
    log.info("sandbox created sandbox={} template={} how=\"{}\" vcpus={} memory_mib={} ttl_s={} took_ms={} {}", row.id(), row.template(),
        how, row.vcpus(), row.memoryMib(), row.timeoutSeconds(), laps.totalMs(), laps);
  }

  /**
   * A warm-pool VM becomes the sandbox: it runs, says HELLO, and only then is the row written,
   * running on that VM with its disk size and its "created" event, in one transaction (the quota
   * checked in it): one store write on the claim's path instead of three. Until that write the VM
   * is a pool VM with no row, as before the claim: a crash in between leaves a run directory the
   * next start kills, as it kills any pool VM's.
   */
  String launchClaimed(SandboxRow row, WarmPools.PoolVm pooled, Laps laps) throws InterruptedException {
    SandboxId id = pooled.id();
    LiveSandbox sb = live.add(id);
    sb.lifecycle.lock();
    VmSpec spec = pooled.spec();
    try {
      sb.vm = pooled.vm();
      sb.vm.resume();
      laps.lap("vm");
      seam.at(LifecycleSeam.Point.VM_STARTED, id.value());
      sb.stopping = false;
      disks.recorded(spec.rootDisk());
      sb.agent = AgentConnection.open(spec.agentSocket(), id.value(), bootTimeout, cause -> watchdog.onAgentBroken(sb, cause));
      laps.lap("agent");
      listeners.attached(id.value(), sb.agent);
      // No root stat probe: the warm-up ran a command on this disk before the VM was paused again.
      OwnerQuotas.reserve(() -> repo.insert(row.onVm(SandboxState.RUNNING.name(), VmRecords.encode(spec), sb.vm.pid()),
          diskSize(id.value(), spec.rootDisk()), Optional.of(new EventRepository.Note("created", CLAIMED))));
      watchdog.watch(sb);
      laps.lap("commit");
      logCreated(row, CLAIMED, laps);
      return id.value();
    } catch (VmmException | AgentException | RuntimeException e) {
      log.warn("sandbox create from the warm pool failed sandbox={} reason=\"{}\"", id, e.getMessage());
      teardown.teardown(sb);
      repo.delete(id.value());
      live.removeDeleted(sb);
      disks.discard(spec.rootDisk());
      unused.collect();
      if (e instanceof KilnException ke) throw ke;
      throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " did not start from the warm pool: " + e.getMessage(), e);
    } finally {
      sb.lifecycle.unlock();
    }
  }

  /**
   * Connects to the agent of the sandbox's new VM (a HELLO: fresh clock, entropy, identity) and
   * records it running on that VM and disk, by compare-and-set from {@code from}, with an event
   * {@code eventKind} saying how the VM came up.
   */
  void attach(LiveSandbox sb, Started started, SandboxState from, String eventKind, SandboxRepository.ExpiryChange expiry)
      throws AgentException, InterruptedException {
    attach(sb, started, from, eventKind, expiry, new Laps());
  }

  /** {@link #attach}, its phases recorded in {@code laps}: record (the VM's row), agent (HELLO), probe, commit. */
  void attach(LiveSandbox sb, Started started, SandboxState from, String eventKind, SandboxRepository.ExpiryChange expiry, Laps laps)
      throws AgentException, InterruptedException {
    VmSpec spec = started.spec();
    String id = sb.id.value();
    seam.at(LifecycleSeam.Point.VM_STARTED, id);
    sb.stopping = false;
    String record = VmRecords.encode(spec);
    // One write for the VM and its disk's size: this is on the path of every create and resume.
    repo.recordVm(id, record, sb.vm.pid(), diskSize(id, spec.rootDisk()));
    disks.recorded(spec.rootDisk());
    watchdog.watch(sb);
    laps.lap("record");
    sb.agent = started.resumesSession() ? AgentConnection.resume(spec.agentSocket(), id, bootTimeout, cause -> watchdog.onAgentBroken(sb, cause))
        : AgentConnection.open(spec.agentSocket(), id, bootTimeout, cause -> watchdog.onAgentBroken(sb, cause));
    laps.lap("agent");
    listeners.attached(id, sb.agent);
    // Integrity probe after a restore (a boot mounted the root itself, just now): the agent answers
    // (the HELLO above) and the restored root filesystem answers a stat.
    if (started.needsProbe()) sb.agent.files().stat("/");
    laps.lap("probe");
    try {
      rows.commit(id, new SandboxRepository.StateChange(from.name(), SandboxState.RUNNING.name(), Optional.of(record),
          OptionalLong.of(sb.vm.pid()), Optional.empty(), expiry, Optional.empty()).withEvent(eventKind, started.how()));
    } catch (KilnException changedMeanwhile) {
      teardown.stopVm(sb); // the row is another writer's now: no VM of this transition may outlive it
      throw changedMeanwhile;
    }
    laps.lap("commit");
  }

  /** Records the root disk's size for the sandbox list, which reads no disk (a sandbox without it is listed without a size). */
  void recordDiskSize(String id, Path rootDisk) {
    diskSize(id, rootDisk).ifPresent(bytes -> repo.recordRootDiskBytes(id, bytes));
  }

  /** The root disk's virtual size, or empty (logged) if its header cannot be read. */
  private static OptionalLong diskSize(String id, Path rootDisk) {
    try {
      return OptionalLong.of(DiskLayers.virtualSize(rootDisk));
    } catch (IOException e) {
      log.warn("sandbox={} root disk size unknown: {}", id, e.getMessage());
      return OptionalLong.empty();
    }
  }

  /** Makes a new disk layer on {@code base} and starts a VM on it; the layer is discarded if the start fails. */
  Started onNewLayer(DiskBase base, LayerStart start) throws IOException, VmmException, AgentException, InterruptedException {
    Path layer = disks.create(base);
    try {
      return start.start(layer);
    } catch (IOException | VmmException | AgentException | InterruptedException | RuntimeException e) {
      disks.discard(layer);
      throw e;
    }
  }

  /**
   * Restores a VM from a saved state (a pause, a checkpoint) after checking it against its
   * checksum. If it will not load, the VM boots from its disk instead: its files survive, its
   * processes do not, and the sandbox's events say so. {@code ownState}: the state is the
   * sandbox's own pause, whose agent session carries on.
   */
  Started restoreOrBoot(LiveSandbox sb, VmSpec spec, Path state, String stateSha256, String what, boolean ownState)
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

  /** Boots the VM from its disk: a stopped sandbox's start. */
  Started boot(LiveSandbox sb, VmSpec spec, String how) throws VmmException, InterruptedException {
    sb.vm = backend.start(spec);
    return new Started(spec, how, false);
  }
}
