package dev.kiln.vmm;

import dev.kiln.host.CommandRunner;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** A VM's copy-on-write disk: a qcow2 whose backing file (never written through it) is {@code base}. */
public final class Overlay {
  /** How the base is stored: a template's raw ext4 image, or a qcow2 (a snapshot's disk). */
  public enum BaseFormat { RAW, QCOW2 }

  private Overlay() {}

  public static void create(Path overlay, Path base, BaseFormat format) {
    CommandRunner.run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", format.name().toLowerCase(), "-b", base.toString(),
        overlay.toString()), Duration.ofSeconds(30));
  }
}
