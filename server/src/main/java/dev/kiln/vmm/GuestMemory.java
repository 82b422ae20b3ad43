package dev.kiln.vmm;

import java.nio.file.Path;

/**
 * Guest RAM backed by a file instead of anonymous memory: what snapshots are made of. With the
 * {@code x-ignore-shared} migration capability the RAM itself is not in the migration stream (it
 * is already in the file), so a snapshot saves in milliseconds and its state file is tiny.
 *
 * @param mode SHARED: the VM's writes go to the file (a VM whose memory becomes a snapshot);
 *             CLONE: the file's sealed copy is mapped private ({@link SealedMemory}), so any number
 *             of VMs restored from one snapshot share its pages and copy only what they write, and
 *             none can write what the others read;
 *             STREAMED: no file ({@code file} is null): ordinary RAM under the same backend name,
 *             for a VM whose every page comes in a migration stream from another host (a live
 *             migration, a paused state fetched from the bucket), where the snapshot file its
 *             source mapped is another host's
 */
public record GuestMemory(Path file, Mode mode) {
  public enum Mode { SHARED, CLONE, STREAMED }

  public GuestMemory {
    if ((file == null) != (mode == Mode.STREAMED)) throw new IllegalArgumentException("memory in " + mode + " mode " + (file == null ? "needs" : "has no") + " a file");
  }

  /** RAM that arrives whole in a migration stream. */
  public static GuestMemory streamed() {
    return new GuestMemory(null, Mode.STREAMED);
  }
}
