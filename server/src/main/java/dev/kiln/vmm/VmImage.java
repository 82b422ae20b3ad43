package dev.kiln.vmm;

import java.nio.file.Path;

/**
 * A booted VM saved whole into one directory, to start any number of clones from: a template
 * snapshot. What the directory holds is the backend's business; for QEMU it is the device state,
 * the RAM as a file every clone maps private (one copy in the page cache for all of them), and
 * the disk as it was, the base of every clone's disk layer.
 *
 * @param dir  the image's directory
 * @param sums what its files were when saved: a clone loads them only while they still match
 */
public record VmImage(Path dir, Sums sums) {
  /** Checksums of an image's files, kept by whoever keeps the image (in its manifest). */
  public record Sums(String stateSha256, long stateBytes, String memorySha256) {}
}
