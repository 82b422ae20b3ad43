package dev.kiln.config;

/**
 * How much of the host one sandbox may hold, whatever its guest does. Each key's description and
 * range: its {@link ConfigDoc}, published as docs/config.md.
 */
public record SandboxQuotas(
    @ConfigDoc(value = "checkpoints one sandbox may keep; one more is refused with 409 CHECKPOINT_LIMIT until one is deleted", range = "1..1000")
    int checkpoints,
    @ConfigDoc(value = "host disk one sandbox may take, in MiB: its own disk layers (the one it writes and those its checkpoints froze), checkpoint states and paused state; a checkpoint or pause that would pass it is refused with 507 DISK_QUOTA_EXCEEDED, and a disk (diskMib) larger than it is refused at create", range = "256..16777216")
    long diskMib,
    @ConfigDoc(value = "frozen disk layers a running sandbox's disk may stand on (each checkpoint adds one, and every read may walk them all); once a checkpoint or restore passes it, what they hold is copied into the sandbox's own layer in the background (QEMU's block-stream) and its disk stands on its template again", range = "1..256")
    int diskLayers) {
  public static final SandboxQuotas DEFAULT = new SandboxQuotas(0, 0, 0);

  public SandboxQuotas {
    if (checkpoints == 0) checkpoints = 32;
    if (diskMib == 0) diskMib = 32L << 10;
    if (diskLayers == 0) diskLayers = 16;
    if (diskLayers < 1 || diskLayers > 256) throw new IllegalArgumentException("sandboxQuotas.diskLayers must be 1..256, got " + diskLayers);
    if (checkpoints < 1 || checkpoints > 1000) throw new IllegalArgumentException("sandboxQuotas.checkpoints must be 1..1000, got " + checkpoints);
    if (diskMib < 256 || diskMib > 16L << 20) throw new IllegalArgumentException("sandboxQuotas.diskMib must be 256..16777216, got " + diskMib);
  }
}
