package dev.kiln.sandbox;

import dev.kiln.image.Artifacts;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.VmSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Removes the disk layers that no sandbox and no checkpoint is built on any more, then the template
 * images and snapshots (artifacts) that no template, sandbox, checkpoint or disk layer reaches.
 */
final class UnusedDisks {
  private final DiskLayers disks;
  private final SandboxRepository sandboxes;
  private final CheckpointRepository checkpoints;
  private final TemplateService templates;

  UnusedDisks(DiskLayers disks, SandboxRepository sandboxes, CheckpointRepository checkpoints, TemplateService templates) {
    this.disks = disks;
    this.sandboxes = sandboxes;
    this.checkpoints = checkpoints;
    this.templates = templates;
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
    // After the layers: one collected above reaches nothing now. Every layer left counts as a root,
    // pending ones (a create or a pool fill under way) included.
    templates.artifacts().collect(this::artifactRoots, DiskLayers::backingOf);
  }

  private Set<Path> artifactRoots() throws IOException {
    Set<Path> roots = new HashSet<>(disks.layers());
    List<Template> all = templates.list();
    for (Template t : all) t.rootfs().ifPresent(roots::add);
    roots.addAll(templates.snapshotPointers().of(all.stream().map(Template::name).toList()));
    for (SandboxRow r : sandboxes.all()) {
      if (r.vmJson().isEmpty()) continue;
      VmSpec spec = SandboxRows.vmSpecOf(r);
      roots.add(spec.rootDisk());
      spec.memory().ifPresent(m -> roots.add(m.file()));
    }
    for (var c : checkpoints.all()) roots.add(Path.of(c.diskPath()));
    return roots;
  }
}
