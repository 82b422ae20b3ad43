package dev.kiln.vmm;

import dev.kiln.host.CommandRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A VM's copy-on-write disk: a qcow2 whose backing file (never written through it) is {@code base}.
 * Each one made or re-pointed here gets its {@link DiskParents} record, which is what a chain is
 * built from: the header's name is only for QEMU's tools.
 */
public final class Overlay {
  /** How the base is stored: a template's raw ext4 image, or a qcow2 (a snapshot's disk). */
  public enum BaseFormat { RAW, QCOW2 }

  private Overlay() {}

  public static void create(Path overlay, Path base, BaseFormat format) {
    create(overlay, base.toString(), format);
  }

  /**
   * Like {@link #create}, but the header names {@code base} relative to the overlay's directory, so
   * the pair can be copied to another directory tree with the same shape (another host's data
   * directory) and still find each other. QEMU resolves a relative backing name against the
   * directory of the file that names it.
   */
  public static void createRelative(Path overlay, Path base, BaseFormat format) {
    Path from = overlay.toAbsolutePath().normalize().getParent();
    create(overlay, from.relativize(base.toAbsolutePath().normalize()).toString(), format);
  }

  /**
   * Points an existing layer at {@code base} by rewriting its header only ({@code qemu-img rebase
   * -u}): for a layer fetched from another node, whose header names the base where that node kept
   * it. The caller has the same base, byte for byte, at the new place.
   */
  public static void rebase(Path overlay, Path base, BaseFormat format) {
    CommandRunner.run(List.of("qemu-img", "rebase", "-u", "-f", "qcow2", "-F", format.name().toLowerCase(), "-b", base.toString(), overlay.toString()),
        Duration.ofSeconds(30));
    record(overlay, base.toString());
  }

  /** The record first: a layer is never seen (by a collection, say) without one. */
  private static void create(Path overlay, String backingName, BaseFormat format) {
    record(overlay, backingName);
    try {
      CommandRunner.run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", format.name().toLowerCase(), "-b", backingName,
          overlay.toString()), Duration.ofSeconds(30));
    } catch (RuntimeException e) {
      try {
        DiskParents.forget(overlay);
      } catch (java.io.IOException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static void record(Path overlay, String backingName) {
    try {
      DiskParents.record(overlay, backingName);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("the parent record of " + overlay + " could not be written: " + e.getMessage(), e);
    }
  }
}
