package dev.kiln.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.host.Checksums;
import dev.kiln.host.VerifiedFiles;
import dev.kiln.image.Artifacts;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.SnapshotPointers;
import dev.kiln.image.Template;
import dev.kiln.net.GuestAddressing;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.GuestMemory;
import dev.kiln.vmm.Overlay;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.SavedState;
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
 * Template snapshots: a template's VM booted once, its filesystem frozen, its state saved, so a
 * sandbox restores in a fraction of a boot. Each snapshot is an immutable {@link Artifacts}
 * directory ({@code artifacts/snapshots/<id>/}; the template's pointer names its current one): the VM
 * state, its RAM as a file (clones map it read-only and private: one copy in the page cache for
 * all of them), the disk as it was (a qcow2 on the template image, the backing file of every
 * clone's overlay), and a manifest with checksums. The disk and state are root-owned and
 * read-only. The memory file must belong to the VMM user (QEMU 7.2 opens it read-write to map it
 * private), so a QEMU taken over by its guest could write to it: its checksum is verified again
 * whenever its change time moves, which no user can forge, before any further restore.
 */
public final class TemplateSnapshots {
  private static final Logger log = LoggerFactory.getLogger(TemplateSnapshots.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration SAVE_TIMEOUT = Duration.ofMinutes(2);

  /** What a snapshot was taken with; a sandbox restores from it only if it asks for the same. */
  public record Manifest(int vcpus, long memoryMib, String guestArtifacts, String rootfsKey, String stateSha256, long stateBytes,
      String memorySha256) {}

  /** A snapshot on disk. */
  record Snapshot(Path dir, Manifest manifest) {
    Path state() {
      return dir.resolve("state");
    }

    Path memory() {
      return dir.resolve("memory");
    }

    Path disk() {
      return dir.resolve("disk.qcow2");
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
  /** Set by {@link #abortAll}: a snapshot thread still going (the networked variant follows the plain one) starts no VM after it. */
  private volatile boolean aborted;
  /** Memory files are the size of the guest's RAM: checked once per process and change. */
  private final VerifiedFiles verifiedMemory = new VerifiedFiles();

  TemplateSnapshots(Path sandboxesDir, Artifacts store, SnapshotPointers pointers, VmmBackend backend, GuestArtifacts artifacts,
      Accelerator accelerator, String cmdline, Duration bootTimeout) {
    this.sandboxesDir = sandboxesDir;
    this.store = store;
    this.pointers = pointers;
    this.backend = backend;
    this.artifacts = artifacts;
    this.accelerator = accelerator;
    this.cmdline = cmdline;
    this.bootTimeout = bootTimeout;
  }

  /** The kernel command line of a VM with or without a network device (the agent configures eth0 from it). */
  String cmdlineFor(Optional<VmSpec.Nic> nic) {
    return nic.isPresent() ? cmdline + " " + GuestAddressing.kernelParameter() : cmdline;
  }

  /** Identifies the template image a snapshot's disk was layered on: a rebuilt template voids it. */
  private static String rootfsKey(Template t) throws IOException {
    BasicFileAttributes a = Files.readAttributes(t.rootfs().orElseThrow(), BasicFileAttributes.class);
    return a.fileKey() + ":" + a.size() + ":" + a.lastModifiedTime().toMillis();
  }

  /**
   * Boots the template, freezes its filesystem, saves the VM into a new snapshot artifact and makes
   * it the template's current one. The previous snapshot is left as it was: sandboxes, checkpoints
   * and pool VMs restored from it go on using it until collection finds nothing reaches it.
   */
  Snapshot take(Template t, int vcpus, long memoryMib, Optional<VmSpec.Nic> nic) throws IOException, VmmException, AgentException, InterruptedException {
    ensureNotAborted();
    long start = System.nanoTime();
    // Sockets go under the sandboxes directory: an artifact path may be too long for sun_path.
    String name = "snap-" + SandboxId.random().value().substring(3);
    Path run = sandboxesDir.resolve(name);
    try (Artifacts.Hold image = store.hold(t.rootfs().orElseThrow())) {
      Path building = store.building(Artifacts.Kind.SNAPSHOT);
      Path disk = building.resolve("disk.qcow2");
      Overlay.create(disk, t.rootfs().orElseThrow(), Overlay.BaseFormat.RAW);
      VmSpec spec = new VmSpec(name, run, artifacts.kernel(), artifacts.initrd(), cmdlineFor(nic), disk, vcpus, memoryMib, accelerator)
          .withMemory(new GuestMemory(building.resolve("memory"), GuestMemory.Mode.SHARED)).withNic(nic);
      RunningVm vm;
      try {
        vm = backend.start(spec);
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
          agent.files().freeze();
        }
        SavedState state = vm.saveState(building.resolve("state"), SAVE_TIMEOUT);
        vm.stop(Duration.ofSeconds(3));
        for (Path p : List.of(disk, state.file())) {
          Files.setOwner(p, p.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("root"));
          Files.setAttribute(p, "unix:mode", 0444);
        }
        // The memory stays the VMM user's: QEMU 7.2 opens it read-write even to map it private.
        Files.setAttribute(spec.memory().get().file(), "unix:mode", 0600);
        Manifest m = new Manifest(vcpus, memoryMib, artifacts.id(), rootfsKey(t), state.sha256(), state.bytes(), Checksums.sha256(spec.memory().get().file()));
        AtomicFiles.write(building.resolve("manifest.json"), JSON.writeValueAsBytes(m));
        Path dir = store.publish(building);
        try {
          pointers.point(t.name(), nic.isPresent(), dir);
        } finally {
          store.recorded(dir);
        }
        verifiedMemory.markVerified(dir.resolve("memory"), m.memorySha256()); // computed just now: the first restore need not redo it
        log.info("template snapshot taken template={} vcpus={} memory_mib={} network={} state_bytes={} took_ms={} dir={}", t.name(), vcpus, memoryMib,
            nic.isPresent(), state.bytes(), (System.nanoTime() - start) / 1_000_000, dir);
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

  /** The template's snapshot if a sandbox of this size can restore from it. */
  Optional<Snapshot> usable(Template t, int vcpus, long memoryMib, boolean network) {
    return find(t, vcpus, memoryMib, network).snapshot();
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

  /** The template's snapshot if a sandbox of this size (and network device or not) can restore from it; otherwise why not, in words. */
  Lookup find(Template t, int vcpus, long memoryMib, boolean network) {
    String which = network ? "template snapshot with a network device" : "template snapshot";
    Path dir;
    Manifest m;
    try {
      Optional<Path> current = pointers.current(t.name(), network);
      if (current.isEmpty() || !Files.isRegularFile(current.get().resolve("manifest.json"))) {
        return Lookup.none("template '" + t.name() + "' has no " + which + " yet");
      }
      dir = current.get();
      m = JSON.readValue(dir.resolve("manifest.json").toFile(), Manifest.class);
    } catch (IOException e) {
      log.warn("template={} snapshot manifest unreadable, booting instead: {}", t.name(), e.toString());
      return new Lookup(Optional.empty(), true, "the " + which + " of '" + t.name() + "' is corrupt (its manifest is unreadable)");
    }
    if (m.vcpus() != vcpus || m.memoryMib() != memoryMib) {
      return new Lookup(Optional.empty(), true, "size differs from the " + which + " (it has " + m.vcpus() + " vCPUs and " + m.memoryMib()
          + " MiB; this sandbox asked for " + vcpus + " vCPUs and " + memoryMib + " MiB)");
    }
    if (!m.guestArtifacts().equals(artifacts.id())) {
      return new Lookup(Optional.empty(), true, "the " + which + " was taken with other guest artifacts (" + m.guestArtifacts() + "; the daemon now has "
          + artifacts.id() + "); it is taken again at the next daemon start");
    }
    try {
      if (!m.rootfsKey().equals(rootfsKey(t))) {
        return new Lookup(Optional.empty(), true, "template '" + t.name() + "' was rebuilt after its " + which + " was taken");
      }
    } catch (IOException e) {
      return new Lookup(Optional.empty(), true, "the image of template '" + t.name() + "' cannot be read: " + e.getMessage());
    }
    return new Lookup(Optional.of(new Snapshot(dir, m)), true, "");
  }

  /**
   * The VM of a clone of this snapshot: the snapshot's machine, its RAM file mapped private, its
   * own run directory and a disk layer on the snapshot's disk.
   */
  VmSpec cloneSpec(Snapshot s, String name, Path runDir, Path layer, Optional<VmSpec.Nic> nic) {
    return new VmSpec(name, runDir, artifacts.kernel(), artifacts.initrd(), cmdlineFor(nic), layer, s.manifest().vcpus(), s.manifest().memoryMib(),
        accelerator).withMemory(new GuestMemory(s.memory(), GuestMemory.Mode.CLONE)).withNic(nic);
  }

  /** What the API shows about a template's snapshot. */
  Optional<Manifest> describe(Template t) {
    if (t.rootfs().isEmpty()) return Optional.empty();
    try {
      Optional<Path> dir = pointers.current(t.name(), false);
      if (dir.isEmpty() || !Files.isRegularFile(dir.get().resolve("manifest.json"))) return Optional.empty();
      return Optional.of(JSON.readValue(dir.get().resolve("manifest.json").toFile(), Manifest.class));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Keeps the snapshot from collection while a clone's disk layer is made on it (then the layer keeps it). */
  Artifacts.Hold hold(Snapshot s) throws IOException {
    return store.hold(s.dir());
  }

  /**
   * Checks the snapshot against its manifest before a restore: the state file every time (it is
   * small), the memory file once per process and change of the file (it is the size of the RAM).
   */
  void verify(Snapshot s) throws IOException {
    Manifest m = s.manifest();
    if (Files.size(s.state()) != m.stateBytes() || !Checksums.sha256(s.state()).equals(m.stateSha256())) {
      throw new IOException("snapshot state " + s.state() + " does not match its checksum");
    }
    verifiedMemory.verify(s.memory(), m.memorySha256());
  }
}
