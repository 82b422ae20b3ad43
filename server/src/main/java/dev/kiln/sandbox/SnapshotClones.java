package dev.kiln.sandbox;

import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmBackend;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Clones of a template snapshot: a new VM restored from the snapshot's RAM, on a new disk layer
 * over the snapshot's disk. How a create restores, and how a warm pool fills.
 */
final class SnapshotClones {
  /** A clone: its VM (running, or paused if asked) and the spec it runs with. */
  record Clone(VmSpec spec, RunningVm vm) {}

  private final TemplateSnapshots snapshots;
  private final DiskLayers disks;
  private final VmmBackend backend;
  private final Duration restoreTimeout;

  SnapshotClones(TemplateSnapshots snapshots, DiskLayers disks, VmmBackend backend, Duration restoreTimeout) {
    this.snapshots = snapshots;
    this.disks = disks;
    this.backend = backend;
    this.restoreTimeout = restoreTimeout;
  }

  /**
   * Restores a clone of the snapshot named {@code name} in {@code runDir}, once the backend has
   * checked the snapshot's files against its manifest; {@code paused} leaves its vCPUs stopped once its state is loaded. On failure
   * nothing is left behind (the new layer is discarded).
   */
  Clone restore(TemplateSnapshots.Snapshot snap, String name, Path runDir, Optional<VmSpec.Nic> nic, boolean paused)
      throws IOException, VmmException, InterruptedException {
    Path layer;
    try (var held = snapshots.hold(snap)) {
      layer = disks.create(snapshots.cloneBase(snap));
    }
    try {
      RunningVm vm = backend.restoreClone(snap.image(), snapshots.cloneSpec(snap, name, runDir, layer, nic), paused, restoreTimeout);
      return new Clone(vm.spec(), vm);
    } catch (IOException | VmmException | InterruptedException | RuntimeException e) {
      disks.discard(layer);
      throw e;
    }
  }
}
