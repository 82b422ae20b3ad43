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

  /** The bytes the sandbox holds on this host now; {@code topLayer} is empty for a sandbox whose layer is not known here. */
  long used(String sandboxId, java.util.Optional<Path> topLayer) {
    long total = topLayer.map(DiskQuota::size).orElse(0L) + size(dirs.pausedState(sandboxId));
    for (CheckpointRow cp : checkpoints.ofSandbox(sandboxId)) {
      total += size(Path.of(cp.diskPath())) + size(checkpointFiles.state(sandboxId, cp.id()));
    }
    return total;
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
