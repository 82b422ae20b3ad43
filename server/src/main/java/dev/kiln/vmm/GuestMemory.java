package dev.kiln.vmm;

import java.nio.file.Path;

/**
 * Guest RAM backed by a file instead of anonymous memory: what snapshots are made of. With the
 * {@code x-ignore-shared} migration capability the RAM itself is not in the migration stream (it
 * is already in the file), so a snapshot saves in milliseconds and its state file is tiny.
 *
 * @param mode SHARED: the VM's writes go to the file (a VM whose memory becomes a snapshot);
 *             CLONE: the file is mapped private, so any number of VMs restored from one snapshot
 *             share its pages in the page cache and copy only what they write. QEMU 7.2 still
 *             opens it read-write ({@code readonly=on} would make the guest's RAM read-only; the
 *             {@code rom=off} that separates the two arrives in 8.2), which is why snapshot memory
 *             is checked against its checksum before restores (see TemplateSnapshots)
 */
public record GuestMemory(Path file, Mode mode) {
  public enum Mode { SHARED, CLONE }
}
