package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.Artifacts;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.net.NetworkSpec;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.Machine;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmBackend;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMs Dockerfile builds run their steps in (docs/adr/0025): booted on a template image or a
 * cached step's layer, with the build's network (the same namespace, firewall and host guard as a
 * sandbox's) and the build's disk size, writing to a layer of their own that {@link BuildVm#commit}
 * freezes after each step. They have run directories but no rows: a daemon that restarts kills
 * them (as any run directory no sandbox owns) and collects their uncommitted layers.
 */
public final class BuildVms {
  private static final Logger log = LoggerFactory.getLogger(BuildVms.class);
  private final RunDirs dirs;
  private final DiskLayers disks;
  private final Artifacts artifacts;
  private final VmmBackend backend;
  private final SandboxNetworks networks;
  private final TemplateSnapshots snapshots;
  private final GuestArtifacts guest;
  private final Duration bootTimeout;
  private final UnusedDisks unused;
  private final Set<BuildVm> running = ConcurrentHashMap.newKeySet();

  /**
   * @param diskBytes the root disk's size (its filesystem grown online to fill it), or 0 to keep the base's
   * @param network   its network; empty for none at all
   */
  public record Settings(int vcpus, long memoryMib, long diskBytes, Optional<NetworkSpec> network) {}

  BuildVms(RunDirs dirs, DiskLayers disks, Artifacts artifacts, VmmBackend backend, SandboxNetworks networks, TemplateSnapshots snapshots,
      GuestArtifacts guest, Duration bootTimeout, UnusedDisks unused) {
    this.dirs = dirs;
    this.disks = disks;
    this.artifacts = artifacts;
    this.backend = backend;
    this.networks = networks;
    this.snapshots = snapshots;
    this.guest = guest;
    this.bootTimeout = bootTimeout;
    this.unused = unused;
  }

  /** Whether a build can have a network here (the daemon's networking is on). */
  public boolean networkAvailable() {
    return networks.available();
  }

  /**
   * Boots a VM on {@code base} (a template image, or a frozen layer of an earlier step) and waits
   * for its agent. The base is held until the VM's own layer exists.
   */
  public BuildVm start(Path base, Settings s) throws IOException, VmmException, AgentException, InterruptedException {
    String name = "build-" + SandboxId.random().value().substring(3);
    Path run = dirs.of(name);
    Path layer;
    try (Artifacts.Hold image = artifacts.idOf(base).isPresent() ? artifacts.hold(base) : null; DiskLayers.Hold frozen = disks.hold(base)) {
      layer = disks.create(DiskLayers.baseOf(base));
    }
    Optional<VmSpec.Nic> nic = Optional.empty();
    RunningVm vm = null;
    AgentConnection agent = null;
    try {
      if (s.network().isPresent()) nic = Optional.of(networks.attachBuild(name, s.network().get()));
      VmSpec spec = snapshots.guestVm(name, run, guest.initrd(), layer, s.vcpus(), s.memoryMib(), nic, Machine.MICROVM, Optional.empty());
      vm = backend.start(spec);
      agent = AgentConnection.open(spec.agentSocket(), name, bootTimeout, cause -> { });
      if (s.diskBytes() > DiskLayers.virtualSize(layer)) {
        vm.growRootDisk(s.diskBytes());
        agent.files().growRoot(s.diskBytes());
      }
      BuildVm b = new BuildVm(this, name, vm, agent, layer, nic.isPresent());
      running.add(b);
      log.info("build vm started vm={} base={} vcpus={} memory_mib={} disk_mib={} network={}", name, base.getFileName(), s.vcpus(), s.memoryMib(),
          s.diskBytes() >> 20, nic.isPresent());
      return b;
    } catch (IOException | VmmException | AgentException | InterruptedException | RuntimeException e) {
      if (agent != null) agent.close();
      if (vm != null) stopQuietly(vm, name);
      if (s.network().isPresent()) networks.releaseScratch(name);
      disks.discard(layer);
      AtomicFiles.deleteTree(run);
      throw e;
    }
  }

  DiskLayers disks() {
    return disks;
  }

  /** A build VM is done: stopped, its network released, the layers it made that no cache entry names removed. */
  void ended(BuildVm b, RunningVm vm, boolean network, java.util.List<Path> unrecorded) {
    running.remove(b);
    stopQuietly(vm, b.name());
    if (network) networks.releaseScratch(b.name());
    for (Path p : unrecorded) disks.discard(p);
    try {
      AtomicFiles.deleteTree(dirs.of(b.name()));
    } catch (IOException e) {
      log.warn("build vm={} run directory not removed: {}", b.name(), e.toString());
    }
  }

  /** Removes the cached layers no cache entry names any more (after the cache's collection dropped some). */
  public void collectUnused() {
    unused.collect();
  }

  /** The daemon is stopping: every build VM goes (their builds fail). */
  void stopAll() {
    for (BuildVm b : running) b.close();
  }

  private static void stopQuietly(RunningVm vm, String name) {
    try {
      vm.stop(Duration.ofSeconds(3));
    } catch (VmmException e) {
      log.warn("build vm={} did not stop: {}", name, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
