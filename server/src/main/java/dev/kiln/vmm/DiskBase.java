package dev.kiln.vmm;

import java.nio.file.Path;

/**
 * What a new disk layer is made on: a template's disk image, or a frozen layer (a snapshot's or a
 * checkpoint's disk). How either is stored is the backend's business.
 */
public sealed interface DiskBase {
  Path file();

  /** A template's root filesystem image. */
  record Image(Path file) implements DiskBase {}

  /** A layer frozen by a snapshot or checkpoint: read-only from then on, the base of every layer made on it. */
  record Layer(Path file) implements DiskBase {}

  /** How the backend's overlay names the base's format. */
  default Overlay.BaseFormat format() {
    return switch (this) {
      case Image i -> Overlay.BaseFormat.RAW;
      case Layer l -> Overlay.BaseFormat.QCOW2;
    };
  }
}
