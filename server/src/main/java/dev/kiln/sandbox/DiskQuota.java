package dev.kiln.sandbox;

import dev.kiln.config.SandboxQuotas;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.CheckpointRow;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * How much host disk a sandbox holds, against {@link SandboxQuotas}: its writable layer (bounded by
 * its disk size, which may not exceed the quota), the layers its checkpoints froze and their
 * states, and its paused state. Checked before anything that adds to it (a checkpoint, a pause)
 * with what that will add at most (its RAM), so a refused operation has written nothing.
 */
final class DiskQuota {
  private final SandboxQuotas quotas;
  private final CheckpointRepository checkpoints;
  private final CheckpointFiles checkpointFiles;
  private final RunDirs dirs;

  DiskQuota(SandboxQuotas quotas, CheckpointRepository checkpoints, CheckpointFiles checkpointFiles, RunDirs dirs) {
    this.quotas = quotas;
    this.checkpoints = checkpoints;
    this.checkpointFiles = checkpointFiles;
    this.dirs = dirs;
  }

  /** Refuses one more checkpoint past the count, 409 CHECKPOINT_LIMIT. */
  void checkCheckpointCount(String sandboxId) {
    int n = checkpoints.ofSandbox(sandboxId).size();
    if (n >= quotas.checkpoints()) {
      throw new KilnException(ErrorCode.CHECKPOINT_LIMIT, "sandbox " + sandboxId + " has " + n + " checkpoints, as many as a sandbox may keep"
          + " (sandboxQuotas.checkpoints): delete one first");
    }
  }

  /** Refuses, 507 DISK_QUOTA_EXCEEDED, an operation that would add up to {@code addingBytes} to what the sandbox holds. */
  void check(String sandboxId, Path topLayer, long addingBytes, String what) {
    long used = used(sandboxId, java.util.Optional.of(topLayer));
    long quota = quotas.diskMib() << 20;
    if (used + addingBytes > quota) {
      throw new KilnException(ErrorCode.DISK_QUOTA_EXCEEDED, "sandbox " + sandboxId + " holds " + (used >> 20) + " MiB of host disk and "
          + what + " may add " + (addingBytes >> 20) + " MiB, past its quota of " + quotas.diskMib()
          + " MiB (sandboxQuotas.diskMib): delete checkpoints it no longer needs");
    }
  }

  /**
   * The bytes the sandbox holds on this host now: every layer of its own in its chain and its
   * checkpoints' chains (frozen by checkpoints since deleted, too; not the template's image or
   * snapshot), its checkpoints' states and its paused state. {@code topLayer} is empty for a
   * sandbox whose layer is not known here.
   */
  long used(String sandboxId, java.util.Optional<Path> topLayer) {
    java.util.Set<Path> layers = new java.util.HashSet<>();
    topLayer.ifPresent(t -> withOwnChain(t, layers));
    long total = size(dirs.pausedState(sandboxId));
    for (CheckpointRow cp : checkpoints.ofSandbox(sandboxId)) {
      withOwnChain(Path.of(cp.diskPath()), layers);
      total += size(checkpointFiles.state(sandboxId, cp.id()));
    }
    for (Path l : layers) total += size(l);
    return total;
  }

  /** A layer and the disk layers under it (by name: template artifacts are not the sandbox's to count). */
  private static void withOwnChain(Path layer, java.util.Set<Path> into) {
    into.add(layer.toAbsolutePath().normalize());
    try {
      for (Path p : dev.kiln.vmm.DiskParents.below(layer)) {
        if (dev.kiln.vmm.DiskLayers.isLayer(p)) into.add(p);
      }
    } catch (IOException e) {
      // a chain that cannot be followed counts for what could be read of it
    }
  }

  /** A disk size a create asks for must fit the quota on its own. */
  void checkDiskSize(long diskMib) {
    if (diskMib > quotas.diskMib()) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'diskMib' asks for " + diskMib + " MiB, more than the " + quotas.diskMib()
          + " MiB of host disk a sandbox may hold here (sandboxQuotas.diskMib)");
    }
  }

  private static long size(Path p) {
    try {
      return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? Files.size(p) : 0;
    } catch (IOException e) {
      return 0;
    }
  }
}
