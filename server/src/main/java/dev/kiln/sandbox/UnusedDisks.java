package dev.kiln.sandbox;

import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.store.BuildCacheRepository;
import dev.kiln.store.CheckpointRepository;

import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.DiskParents;
import dev.kiln.vmm.VmSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Removes the disk layers that no sandbox, checkpoint or cached build step is built on any more, then
 * the template images and snapshots (artifacts) that no template, sandbox, checkpoint, cached step or
 * disk layer reaches.
 */
final class UnusedDisks {
  private final DiskLayers disks;
  private final SandboxRows sandboxes;
  private final CheckpointRepository checkpoints;
  private final TemplateService templates;
  private final BuildCacheRepository buildCache;

  UnusedDisks(DiskLayers disks, SandboxRows sandboxes, CheckpointRepository checkpoints, TemplateService templates, BuildCacheRepository buildCache) {
    this.disks = disks;
    this.buildCache = buildCache;
    this.sandboxes = sandboxes;
    this.checkpoints = checkpoints;
    this.templates = templates;
  }

  /** What sandboxes, checkpoints and cached build steps are built on, as one read of their rows finds it. */
  private record Uses(List<VmSpec> vms, List<Path> checkpointDisks, List<Path> buildSteps) {}

  void collect() {
    // Versions first: one no sandbox is made from any more lets its image go in this very pass.
    try {
      templates.pruneVersions();
    } catch (RuntimeException e) {
      org.slf4j.LoggerFactory.getLogger(UnusedDisks.class).warn("template versions not pruned: {}", e.toString());
    }
    // One read of the rows serves both passes, taken inside the first (whose fail-closed handling
    // covers an error in it): a sandbox made after it has a layer, pending or recorded, that the
    // artifact pass counts, and that layer's chain reaches its artifacts.
    AtomicReference<Uses> read = new AtomicReference<>();
    disks.collect(() -> {
      Uses uses = readUses();
      read.set(uses);
      Set<Path> roots = new HashSet<>(uses.checkpointDisks());
      roots.addAll(uses.buildSteps());
      for (VmSpec vm : uses.vms()) roots.add(vm.rootDisk());
      return roots;
    });
    // After the layers: one collected above reaches nothing now. Every layer left counts as a root,
    // pending ones (a create or a pool fill under way) included.
    templates.artifacts().collect(() -> artifactRoots(read.get() != null ? read.get() : readUses()), DiskParents::of);
  }

  private Uses readUses() {
    List<VmSpec> vms = new ArrayList<>();
    for (SandboxRow r : sandboxes.mine()) {
      if (r.vmJson().isPresent()) vms.add(SandboxRows.vmSpecOf(r));
    }
    // Other nodes' rows name files in their own data directories, which this node neither has nor collects.
    return new Uses(vms, checkpoints.allOn(sandboxes.nodeId()).stream().map(c -> Path.of(c.diskPath())).toList(),
        buildCache.allOn(sandboxes.nodeId()).stream().map(e -> Path.of(e.diskPath())).toList());
  }

  private Set<Path> artifactRoots(Uses uses) throws IOException {
    Set<Path> roots = new HashSet<>(disks.layers());
    List<Template> all = templates.list();
    for (Template t : all) t.rootfs().ifPresent(roots::add);
    roots.addAll(templates.versionImages());
    roots.addAll(templates.snapshotPointers().all());
    for (VmSpec vm : uses.vms()) {
      roots.add(vm.rootDisk());
      vm.memory().map(dev.kiln.vmm.GuestMemory::file).ifPresent(roots::add);
    }
    roots.addAll(uses.checkpointDisks());
    roots.addAll(uses.buildSteps()); // a FROM of an image is cached as the image itself
    return roots;
  }
}
