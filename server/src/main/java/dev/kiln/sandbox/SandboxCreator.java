package dev.kiln.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.agent.AgentException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.Laps;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.net.NetworkMode;
import dev.kiln.net.NetworkSpec;
import dev.kiln.store.EventRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.DiskBase;
import dev.kiln.vmm.Machine;
import dev.kiln.vmm.VmmCapabilities;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates sandboxes from templates and chooses how each VM comes up: claimed from a warm pool,
 * restored from the template snapshot, or booted (and why, in its "created" event).
 */
final class SandboxCreator {
  private static final Logger log = LoggerFactory.getLogger(SandboxCreator.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** 16 TiB: qcow2 takes far more, but a root disk beyond this is a typo (GiB for MiB) rather than a plan. */
  private static final long MAX_DISK_MIB = 1L << 24;

  private final TemplateService templates;
  private final SandboxLimits limits;
  private final SandboxNetworks networks;
  private final WarmPools pools;
  private final TemplateSnapshotPolicy snapshotPolicy;
  private final TemplateSnapshots snapshots;
  private final SnapshotClones clones;
  private final VmLauncher launcher;
  private final SandboxLocks locks;
  private final SandboxRemoval removal;
  private final EventRepository events;
  private final DiskLayers disks;
  private final GuestArtifacts artifacts;
  private final VmmCapabilities capabilities;
  private final ThisNode node;
  private final DiskQuota quota;

  SandboxCreator(TemplateService templates, SandboxLimits limits, SandboxNetworks networks, WarmPools pools, TemplateSnapshotPolicy snapshotPolicy,
      TemplateSnapshots snapshots, SnapshotClones clones, VmLauncher launcher, SandboxLocks locks, SandboxRemoval removal, EventRepository events,
      DiskLayers disks, GuestArtifacts artifacts, VmmCapabilities capabilities, ThisNode node, DiskQuota quota) {
    this.node = node;
    this.quota = quota;
    this.templates = templates;
    this.limits = limits;
    this.networks = networks;
    this.pools = pools;
    this.snapshotPolicy = snapshotPolicy;
    this.snapshots = snapshots;
    this.clones = clones;
    this.launcher = launcher;
    this.locks = locks;
    this.removal = removal;
    this.events = events;
    this.disks = disks;
    this.artifacts = artifacts;
    this.capabilities = capabilities;
  }

  /** Creates a sandbox and returns its id once it runs. */
  String create(CreateSandbox req) throws InterruptedException {
    Laps laps = new Laps();
    node.placement().refusal().ifPresent(why -> {
      throw new KilnException(ErrorCode.NO_NODE_AVAILABLE, "no node takes new sandboxes: " + why);
    });
    Template template = templates.ready(req.template());
    int vcpus = req.vcpus().orElse(limits.vcpusFor(template));
    long memoryMib = req.memoryMib().orElse(limits.memoryMibFor(template));
    long timeout = req.timeoutSeconds().orElse(limits.defaults().timeoutSeconds());
    limits.check(vcpus, memoryMib, timeout);
    OptionalLong growTo = diskGrowth(template, req.diskMib());
    NetworkSpec network = req.network().orElseGet(() -> networks.defaultMode() == NetworkMode.INTERNET ? NetworkSpec.INTERNET : NetworkSpec.NONE);
    networks.checkAttachable(network);
    Machine machine = req.machine().orElse(template.machine());
    if (!capabilities.offers(machine)) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'machine': this host's VMM offers no " + machine.wire() + " machine");
    }
    // Pool VMs are clones of the template snapshot, on the template's machine without a network
    // device; a sandbox with a network restores from the networked snapshot.
    // Checked again where the row is written; here so that a refused create claims no pool VM and makes no disk.
    launcher.checkRoom(req.owner(), 1, vcpus, memoryMib);
    // Pool VMs are of the current version's snapshot: a create naming a version (NAME:VERSION) does not claim one.
    boolean namedVersion = req.template().contains(":");
    Optional<WarmPools.PoolVm> pooled = req.boot().isPresent() || network.hasDevice() || machine != template.machine() || namedVersion ? Optional.empty()
        : pools.claim(template, vcpus, memoryMib);
    java.util.concurrent.atomic.AtomicBoolean booted = new java.util.concurrent.atomic.AtomicBoolean();
    laps.lap("checks");
    String id = launchNew(template, req, network, pooled, machine, vcpus, memoryMib, timeout, booted, laps);
    if (growTo.isPresent()) growDisk(id, growTo.getAsLong());
    // A sandbox restored from the template snapshot (or claimed from its pool) has the service running already.
    if (booted.get() && StartCommands.has(template)) startService(id, template);
    return id;
  }

  /**
   * The root disk size a create asks for, in bytes, if it is more than the template's; a size below
   * the template's, or growth beyond the free space of the data directory, is refused.
   */
  private OptionalLong diskGrowth(Template template, OptionalLong diskMib) {
    if (diskMib.isEmpty()) return OptionalLong.empty();
    long templateBytes;
    long freeBytes;
    // Held to read its size: in a cluster, an image another node built is fetched here first.
    try (var image = templates.artifacts().hold(template.rootfs().orElseThrow())) {
      templateBytes = Files.size(template.rootfs().orElseThrow());
      freeBytes = disks.usableSpace();
    } catch (IOException e) {
      throw new KilnException(ErrorCode.INTERNAL, "cannot size the template's disk: " + e.getMessage(), e);
    }
    long want = diskMib.getAsLong() << 20;
    long templateMib = (templateBytes + (1 << 20) - 1) >> 20;
    if (diskMib.getAsLong() < 1 || diskMib.getAsLong() > MAX_DISK_MIB || want < templateBytes) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'diskMib' must be " + templateMib + ".." + MAX_DISK_MIB
          + " (MiB: no smaller than the template's size, " + template.name() + " has " + templateMib + " MiB; at most 16 TiB), got "
          + diskMib.getAsLong());
    }
    // The layer is sparse, but a sandbox promised this much may write it all: the host must have it.
    if (want - templateBytes > freeBytes) {
      throw new KilnException(ErrorCode.INSUFFICIENT_CAPACITY, "field 'diskMib' " + diskMib.getAsLong() + " needs " + ((want - templateBytes) >> 20)
          + " MiB beyond the template; the data directory has " + (freeBytes >> 20) + " MiB free");
    }
    quota.checkDiskSize(diskMib.getAsLong());
    return want > templateBytes ? OptionalLong.of(want) : OptionalLong.empty();
  }

  /** Grows a new sandbox's disk and its root filesystem online; a failure deletes the sandbox (it is not what was asked for). */
  private void growDisk(String id, long bytes) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      try {
        Transitions.check(r, Operation.USE);
        sb.vm.growRootDisk(bytes);
        long fs = sb.agent.files().growRoot(bytes);
        launcher.recordDiskSize(id, SandboxRows.vmSpecOf(r).rootDisk());
        log.info("sandbox disk grown sandbox={} disk_mib={} filesystem_mib={}", id, bytes >> 20, fs >> 20);
        return null;
      } catch (VmmException | AgentException | RuntimeException e) {
        removal.discard(id);
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " could not grow its disk to " + (bytes >> 20) + " MiB: " + e.getMessage(), e);
      }
    });
  }

  /** A booted sandbox of a template with a start command runs it, as the snapshot VM did; a service that does not come up fails the create. */
  private void startService(String id, Template template) throws InterruptedException {
    locks.underLifecycleLock(id, (sb, r) -> {
      try {
        StartCommands.startAndAwait(sb.agent, template, "sandbox " + id);
        events.append(id, "started", "the template's start command is running and ready");
        return null;
      } catch (AgentException | IOException | RuntimeException e) {
        removal.discard(id);
        throw new KilnException(ErrorCode.VM_START_FAILED, "sandbox " + id + " booted, but its template's start command failed: " + e.getMessage(), e);
      }
    });
  }

  private String launchNew(Template template, CreateSandbox req, NetworkSpec network, Optional<WarmPools.PoolVm> pooled, Machine machine, int vcpus,
      long memoryMib, long timeout, java.util.concurrent.atomic.AtomicBoolean booted, Laps laps) throws InterruptedException {
    SandboxId id = pooled.map(WarmPools.PoolVm::id).orElseGet(SandboxId::random);
    Instant now = Instant.now();
    Optional<Instant> expires = timeout == 0 ? Optional.empty() : Optional.of(now.plusSeconds(timeout));
    // The version it is made from, for good (0 for a template from before versions).
    SandboxRow row = new SandboxRow(id.value(), template.name(), SandboxState.CREATING.name(), vcpus, memoryMib, timeout, json(req.env()),
        json(req.metadata()), Optional.empty(), OptionalLong.empty(), Optional.empty(), now, expires, req.onTimeout().name(), node.id(), req.owner(), template.version());
    // A pool VM is taken over whole: refused after that, the launcher stops it.
    if (pooled.isPresent()) return launcher.launchClaimed(row, pooled.get(), laps);
    return launch(template, req, network, machine, vcpus, memoryMib, id, row, booted, laps);
  }

  private String launch(Template template, CreateSandbox req, NetworkSpec network, Machine machine, int vcpus,
      long memoryMib, SandboxId id, SandboxRow row, java.util.concurrent.atomic.AtomicBoolean booted, Laps laps) throws InterruptedException {
    return launcher.launch(row, (sb, runDir) -> {
      Optional<VmSpec.Nic> nic = networks.attach(id.value(), network);
      String whyBoot;
      if (req.boot().isPresent()) {
        whyBoot = "a test boot variant (" + req.boot().get() + ") never restores";
      } else {
        TemplateSnapshots.Lookup found = snapshotPolicy.snapshotFor(template, machine, vcpus, memoryMib, nic.isPresent());
        if (found.snapshot().isPresent()) {
          RestoreAttempt restored = restore(sb, runDir, found.snapshot().get(), nic);
          if (restored.spec().isPresent()) return new VmLauncher.Started(restored.spec().get(), "restored from the template snapshot", true);
          whyBoot = "the template snapshot did not restore (" + restored.failure() + ")";
        } else {
          whyBoot = found.whyNot();
        }
      }
      Path initrd = req.boot().isPresent() ? artifacts.hostileInitrd() : artifacts.initrd();
      // Held until the layer exists: a rebuild may have moved the template on since it was read.
      try (var image = templates.artifacts().hold(template.rootfs().orElseThrow())) {
        booted.set(true);
        return launcher.onNewLayer(new DiskBase.Image(template.rootfs().orElseThrow()), layer -> {
          VmSpec spec = snapshots.guestVm(id.value(), runDir, initrd, layer, vcpus, memoryMib, nic, machine, limits.roomFor(machine, memoryMib));
          return launcher.boot(sb, spec, "booted: " + whyBoot);
        });
      }
    }, laps);
  }

  /**
   * Restores the sandbox's VM from the template snapshot. A snapshot that fails its checksum or
   * does not restore is logged and the sandbox boots cold instead: slower, never broken.
   */
  private RestoreAttempt restore(LiveSandbox sb, Path runDir, TemplateSnapshots.Snapshot snap, Optional<VmSpec.Nic> nic) throws InterruptedException {
    try {
      SnapshotClones.Clone clone = clones.restore(snap, sb.id.value(), runDir, nic, false);
      sb.vm = clone.vm();
      return new RestoreAttempt(Optional.of(clone.spec()), "");
    } catch (IOException | VmmException | RuntimeException e) {
      log.warn("sandbox={} restore from snapshot {} failed, booting cold instead: {}", sb.id, snap.dir(), e.getMessage());
      events.append(sb.id.value(), "fallback", "the template snapshot did not restore (" + e.getMessage() + "); booting instead, which is slower");
      return new RestoreAttempt(Optional.empty(), e.getMessage() == null ? "internal error" : e.getMessage());
    }
  }

  /** A restore from the template snapshot: the VM's spec, or why it did not restore (for the "created" event). */
  private record RestoreAttempt(Optional<VmSpec> spec, String failure) {}

  private static String json(Map<String, String> m) {
    try {
      return JSON.writeValueAsString(m);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a string map is always serializable", e);
    }
  }
}
