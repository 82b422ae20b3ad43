package dev.kiln.sandbox;

import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.DiskLayers;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/** Removes the disk layers that no sandbox and no checkpoint is built on any more. */
final class UnusedDisks {
  private final DiskLayers disks;
  private final SandboxRepository sandboxes;
  private final CheckpointRepository checkpoints;

  UnusedDisks(DiskLayers disks, SandboxRepository sandboxes, CheckpointRepository checkpoints) {
    this.disks = disks;
    this.sandboxes = sandboxes;
    this.checkpoints = checkpoints;
  }

  void collect() {
    disks.collect(() -> {
      Set<Path> roots = new HashSet<>();
      for (SandboxRow r : sandboxes.all()) {
        if (r.vmJson().isPresent()) roots.add(SandboxRows.vmSpecOf(r).rootDisk());
      }
      for (var c : checkpoints.all()) roots.add(Path.of(c.diskPath()));
      return roots;
    });
  }
}
