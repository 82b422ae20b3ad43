package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.Artifacts;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.SnapshotPointers;
import dev.kiln.image.Template;
import dev.kiln.net.GuestAddressing;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.DiskBase;
import dev.kiln.vmm.DiskParents;
import dev.kiln.vmm.Hotplug;
import dev.kiln.vmm.Machine;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmImage;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmBackend;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Template snapshots: a template's VM booted once, its filesystem frozen, and saved by the backend
 * as a {@link VmImage}, so a sandbox restores in a fraction of a boot. Each snapshot is an
 * immutable {@link Artifacts} directory ({@code artifacts/snapshots/<id>/}; the template's row
 * names its current one, {@link SnapshotPointers}): the backend's files and a manifest of what the
 * snapshot was taken with (machine, size, room to grow, guest artifacts, template image) and their
 * checksums.
 */
public final class TemplateSnapshots {
  private static final Logger log = LoggerFactory.getLogger(TemplateSnapshots.class);
  private static final Duration SAVE_TIMEOUT = Duration.ofMinutes(2);
  private static final List<ExecRequest> WARM_UP = List.of(ExecRequest.of("true"), ExecRequest.shell("true"));
  private static final Duration WARM_UP_LIMIT = Duration.ofSeconds(30);

  /**
   * What a snapshot was taken with; a sandbox restores from it only if it asks for the same machine
   * and size. {@code machine} and {@code room} are absent from snapshots taken before q35 ones
   * existed (microvms, which have no room to grow). {@code imageId} is the template image
   * artifact's id, which names it on every node (absent before artifacts were shared, and for a
   * legacy image); {@code rootfsKey} identifies the image file on the host that took the snapshot.
   */
  public record Manifest(int vcpus, long memoryMib, String guestArtifacts, String rootfsKey, String stateSha256, long stateBytes,
      String memorySha256, String machine, Hotplug room, String imageId, Integer vmLayout) {
    public Machine machineOf() {
      return machine == null ? Machine.MICROVM : Machine.fromWire(machine);
    }

    /** The device layout of the VM it was taken from (VmSpec.LAYOUT); manifests from before it was recorded are of the first. */
    int layoutOf() {
      return vmLayout == null ? 1 : vmLayout;
    }

    Optional<Hotplug> roomOf() {
      return Optional.ofNullable(room);
    }
  }

  /** A snapshot on disk. */
  record Snapshot(Path dir, Manifest manifest) {
    VmImage image() {
      return new VmImage(dir, new VmImage.Sums(manifest.stateSha256(), manifest.stateBytes(), manifest.memorySha256()));
    }
  }

  private final Path sandboxesDir;
  private final Artifacts store;
  private final SnapshotPointers pointers;
  private final VmmBackend backend;
  private final GuestArtifacts artifacts;
  private final Accelerator accelerator;
  private final String cmdline;
  private final Duration bootTimeout;
  /** Snapshot VMs running right now, so a daemon that stops does not leave one behind. */
  private final Set<RunningVm> inProgress = ConcurrentHashMap.newKeySet();
  private final SnapshotManifests manifests = new SnapshotManifests();
  /** Set by {@link #abortAll}: a snapshot thread still going (the networked variant follows the plain one) starts no VM after it. */
  private volatile boolean aborted;

  TemplateSnapshots(Path sandboxesDir, Artifacts store, SnapshotPointers pointers, VmmBackend backend, GuestArtifacts artifacts,
      Accelerator accelerator, Duration bootTimeout) {
    this.sandboxesDir = sandboxesDir;
    this.store = store;
    this.pointers = pointers;
    this.backend = backend;
    this.artifacts = artifacts;
    this.accelerator = accelerator;
    this.cmdline = backend.kernelCmdline(accelerator, artifacts.cmdline());
    this.bootTimeout = bootTimeout;
  }

  /**
   * A VM of the daemon's guest artifacts (the hostile-agent {@code initrd} only in tests): a
   * snapshot VM, a clone or a booted sandbox. With a network device its kernel command line
   * carries what the agent configures eth0 from.
   */
  VmSpec guestVm(String name, Path runDir, Path initrd, Path rootDisk, int vcpus, long memoryMib, Optional<VmSpec.Nic> nic, Machine machine,
      Optional<Hotplug> room) {
    String kernelCmdline = nic.isPresent() ? cmdline + " " + GuestAddressing.kernelParameter() : cmdline;
    return new VmSpec(name, runDir, artifacts.kernel(), initrd, kernelCmdline, rootDisk, vcpus, memoryMib, accelerator).withNic(nic)
        .onMachine(machine, room);
  }

  /** Identifies the template image file a snapshot's disk was layered on, on this host: a rebuilt template voids it. */
  private static String rootfsKey(Template t) throws IOException {
    BasicFileAttributes a = Files.readAttributes(t.rootfs().orElseThrow(), BasicFileAttributes.class);
    return a.fileKey() + ":" + a.size() + ":" + a.lastModifiedTime().toMillis();
  }

  /**
   * Whether the snapshot was taken on the template's current image: the same image artifact (on
   * any node), or, for a snapshot from before image ids or of a legacy image, the same file on
   * this host.
   */
  private boolean takenOnImageOf(Manifest m, Template t) throws IOException {
    if (m.imageId() != null && store.idOf(t.rootfs().orElseThrow()).map(m.imageId()::equals).orElse(false)) return true;
    return m.rootfsKey().equals(rootfsKey(t));
  }

  /**
   * Boots the template on its machine (with {@code room} to grow, which every clone then has too),
   * freezes its filesystem, saves the VM into a new snapshot artifact and makes it the template's
   * current one. The previous snapshot is left as it was: sandboxes, checkpoints and pool VMs
   * restored from it go on using it until collection finds nothing reaches it.
   */
  Snapshot take(Template t, int vcpus, long memoryMib, Optional<Hotplug> room, Optional<VmSpec.Nic> nic)
      throws IOException, VmmException, AgentException, InterruptedException {
    ensureNotAborted();
    long start = System.nanoTime();
    // What the new snapshot replaces: if another one (another node's) becomes current meanwhile, that one stays.
    Optional<Path> previous = pointers.current(t.name(), nic.isPresent());
    // Sockets go under the sandboxes directory: an artifact path may be too long for sun_path.
    String name = "snap-" + SandboxId.random().value().substring(3);
    Path run = sandboxesDir.resolve(name);
    try (Artifacts.Hold image = store.hold(t.rootfs().orElseThrow())) {
      Path building = store.building(Artifacts.Kind.SNAPSHOT);
      VmSpec spec = guestVm(name, run, artifacts.initrd(), building, vcpus, memoryMib, nic, t.machine(), room);
      RunningVm vm;
      try {
        vm = backend.startImageVm(spec, new DiskBase.Image(t.rootfs().orElseThrow()), building);
      } catch (VmmException | RuntimeException e) {
        AtomicFiles.deleteTree(building);
        AtomicFiles.deleteTree(run);
        throw e;
      }
      inProgress.add(vm);
      try {
        // Checked after the VM is registered: an abortAll that iterated before the add is seen here.
        ensureNotAborted();
        try (AgentConnection agent = AgentConnection.open(spec.agentSocket(), name, bootTimeout, cause -> { })) {
          if (StartCommands.has(t)) {
            long s0 = System.nanoTime();
            StartCommands.startAndAwait(agent, t, "the snapshot VM of template " + t.name());
            log.info("template start command ready template={} took_ms={}", t.name(), (System.nanoTime() - s0) / 1_000_000);
          }
          warmUp(agent, t);
          agent.files().freeze();
        }
        VmImage saved = backend.saveImage(vm, building, SAVE_TIMEOUT);
        VmImage.Sums sums = saved.sums();
        Manifest m = new Manifest(vcpus, memoryMib, artifacts.id(), rootfsKey(t), sums.stateSha256(), sums.stateBytes(), sums.memorySha256(),
            t.machine().wire(), room.orElse(null), store.idOf(t.rootfs().orElseThrow()).orElse(null), VmSpec.LAYOUT);
        manifests.write(building, m);
        Path dir = store.publish(building);
        try {
          // Before the row names it: a template never names a snapshot the other nodes cannot fetch.
          // A failure leaves the row's snapshot as it was, and the new artifact to collection.
          store.uploadIfMissing(t.rootfs().orElseThrow()); // an image built offline (the installer's) or before the bucket was configured
          store.upload(dir);
          if (!pointers.point(t.name(), nic.isPresent(), previous, dir)) {
            throw new IOException("another snapshot of template " + t.name() + " became current while this one was taken; it stays, and this one is dropped");
          }
        } finally {
          store.recorded(dir);
        }
        log.info("template snapshot taken template={} machine={} vcpus={} memory_mib={} network={} state_bytes={} took_ms={} dir={}", t.name(),
            t.machine().wire(), vcpus, memoryMib, nic.isPresent(), sums.stateBytes(), (System.nanoTime() - start) / 1_000_000, dir);
        return new Snapshot(dir, m);
      } finally {
        inProgress.remove(vm);
        vm.stop(Duration.ofSeconds(3));
        AtomicFiles.deleteTree(run);
        AtomicFiles.deleteTree(building);
      }
    }
  }
  /** Refuses new snapshot work once {@link #abortAll} ran. */
  void ensureNotAborted() throws VmmException {
    if (aborted) throw new VmmException("the daemon is stopping: no snapshot VM is started");
  }

  /** Stops the snapshot VMs still running (the daemon is stopping); their snapshots fail, and no later one starts. */
  void abortAll() {
    aborted = true;
    for (RunningVm vm : inProgress) {
      try {
        vm.stop(Duration.ofSeconds(3));
      } catch (VmmException e) {
        log.warn("snapshot vm={} did not stop: {}", vm.spec().name(), e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** The template's snapshot if a sandbox of this size can restore from it (fetched from the object store if it is only there). */
  Optional<Snapshot> usable(Template t, Machine machine, int vcpus, long memoryMib, boolean network) {
    return find(t, machine, vcpus, memoryMib, network).snapshot();
  }

  /**
   * Whether the template's current snapshot is not here but in the object store, fetched on first
   * use: another node took it, and this one need not take its own.
   */
  boolean onlyInObjectStore(Template t, boolean network) {
    try {
      Optional<Path> current = pointers.current(t.name(), network);
      return current.isPresent() && !manifests.whole(current.get()) && store.available(current.get());
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * A snapshot to restore from, or why there is none a sandbox could use.
   *
   * @param snapshotExists whether there is a snapshot at all (one that does not fit says so in whyNot)
   */
  record Lookup(Optional<Snapshot> snapshot, boolean snapshotExists, String whyNot) {
    static Lookup none(String why) {
      return new Lookup(Optional.empty(), false, why);
    }
  }

  /** The template's snapshot if a sandbox of this machine and size (and network device or not) can restore from it; otherwise why not, in words. */
  Lookup find(Template t, Machine machine, int vcpus, long memoryMib, boolean network) {
    String which = network ? "template snapshot with a network device" : "template snapshot";
    Path dir;
    Manifest m;
    try {
      Optional<Path> current = pointers.current(t.name(), network);
      if (current.isEmpty() || !manifests.whole(current.get()) && !fetched(t, current.get())) {
        return Lookup.none("template '" + t.name() + "' has no " + which + " yet");
      }
      dir = current.get();
      m = manifests.of(dir);
    } catch (FetchFailed e) {
      return new Lookup(Optional.empty(), true, "the " + which + " of '" + t.name() + "' could not be fetched: " + e.getMessage());
    } catch (IOException e) {
      log.warn("template={} snapshot manifest unreadable, booting instead: {}", t.name(), e.toString());
      return new Lookup(Optional.empty(), true, "the " + which + " of '" + t.name() + "' is corrupt (its manifest is unreadable)");
    }
    if (m.machineOf() != machine) {
      return new Lookup(Optional.empty(), true, "the " + which + " is a " + m.machineOf().wire() + " machine; this sandbox asked for " + machine.wire());
    }
    if (m.vcpus() != vcpus || m.memoryMib() != memoryMib) {
      return new Lookup(Optional.empty(), true, "size differs from the " + which + " (it has " + m.vcpus() + " vCPUs and " + m.memoryMib()
          + " MiB; this sandbox asked for " + vcpus + " vCPUs and " + memoryMib + " MiB)");
    }
    if (!m.guestArtifacts().equals(artifacts.id())) {
      return new Lookup(Optional.empty(), true, "the " + which + " was taken with other guest artifacts (" + m.guestArtifacts() + "; the daemon now has "
          + artifacts.id() + "); it is taken again at the next daemon start");
    }
    if (m.layoutOf() != VmSpec.LAYOUT && m.machineOf() == Machine.MICROVM) {
      return new Lookup(Optional.empty(), true, "the " + which + " was taken on an older VM device layout (" + m.layoutOf() + "; this daemon makes "
          + VmSpec.LAYOUT + "); it is taken again at the next daemon start");
    }
    try {
      if (!takenOnImageOf(m, t)) {
        return new Lookup(Optional.empty(), true, "template '" + t.name() + "' was rebuilt after its " + which + " was taken");
      }
    } catch (IOException e) {
      return new Lookup(Optional.empty(), true, "the image of template '" + t.name() + "' cannot be read: " + e.getMessage());
    }
    return new Lookup(Optional.of(new Snapshot(dir, m)), true, "");
  }

  /**
   * Runs what a sandbox's first commands run (a program found on PATH, a shell) before the state is
   * saved: the programs and libraries they read are then in the snapshot's page cache, and every
   * sandbox restored from it runs its first command without reading them from its disk. An image
   * without them is snapshotted all the same.
   */
  private static void warmUp(AgentConnection agent, Template t) throws InterruptedException {
    for (ExecRequest warm : WARM_UP) {
      try (ExecHandle h = agent.exec(warm)) {
        h.awaitExit(WARM_UP_LIMIT);
      } catch (AgentException e) {
        log.debug("template={} warm-up {} did not run: {}", t.name(), warm.argv(), e.getMessage());
      }
    }
  }

  /** A snapshot the object store has that could not be fetched. */
  private static final class FetchFailed extends IOException {
    FetchFailed(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The template artifact file a disk layer from another node is built on ({@code base}, as that
   * node named it), here: fetched from the object store if this node does not have it, a
   * snapshot's disk with the image it is layered on.
   */
  /** Where an artifact path of any node's data directory (a snapshot's memory file, say) is on this node. */
  Path local(Path artifactPath) {
    return store.local(artifactPath);
  }

  Path ensureBase(Path base) throws IOException, InterruptedException {
    Path local = store.local(base);
    if (Files.exists(local)) return local;
    // A saved disk is built on a template snapshot's disk (itself on the template's image), or on
    // the image itself (a sandbox that booted from it).
    boolean snapshot = store.inSnapshot(local);
    if (!store.ensureLocal(local, snapshot ? backend::adoptImage : dir -> { })) {
      throw new IOException("the template artifact " + local.getParent().getFileName() + " a saved disk is built on is neither here nor in the object store");
    }
    if (!snapshot) return local;
    Optional<Path> image = DiskParents.of(local);
    if (image.isPresent() && !store.ensureLocal(image.get(), dir -> { })) {
      throw new IOException("the template image " + image.get().getParent().getFileName() + " is neither here nor in the object store");
    }
    return local;
  }

  /**
   * Fetches a snapshot another node took from the object store, with the template image it is
   * layered on first (its disk names that image relative to itself). False if the store does not
   * have it (or artifacts are not shared).
   */
  private boolean fetched(Template t, Path dir) throws FetchFailed {
    if (!store.shared()) return false;
    try {
      if (!store.ensureLocal(t.rootfs().orElseThrow(), image -> { })) return false;
      boolean got = store.ensureLocal(dir, backend::adoptImage);
      if (got) log.info("template snapshot fetched from the object store template={} dir={}", t.name(), dir);
      return got;
    } catch (IOException e) {
      log.warn("template={} snapshot {} not fetched from the object store: {}", t.name(), dir, e.getMessage());
      throw new FetchFailed(e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FetchFailed("interrupted", e);
    }
  }

  /**
   * The VM of a clone of this snapshot: the snapshot's machine, size and room to grow, its own run
   * directory and a disk layer on the snapshot's disk ({@link #cloneBase}); its RAM comes from the
   * snapshot when the backend restores it.
   */
  VmSpec cloneSpec(Snapshot s, String name, Path runDir, Path layer, Optional<VmSpec.Nic> nic) {
    Manifest m = s.manifest();
    return guestVm(name, runDir, artifacts.initrd(), layer, m.vcpus(), m.memoryMib(), nic, m.machineOf(), m.roomOf());
  }

  /** What a clone's disk layer is made on. */
  DiskBase cloneBase(Snapshot s) {
    return backend.cloneBase(s.image());
  }

  /** What the API shows about a template's snapshot. */
  Optional<Manifest> describe(Template t) {
    if (t.rootfs().isEmpty()) return Optional.empty();
    try {
      Optional<Path> dir = pointers.current(t.name(), false);
      if (dir.isEmpty() || !manifests.whole(dir.get())) return Optional.empty();
      return Optional.of(manifests.of(dir.get()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Keeps the snapshot from collection while a clone's disk layer is made on it (then the layer keeps it). */
  Artifacts.Hold hold(Snapshot s) throws IOException {
    return store.hold(s.dir());
  }
}
