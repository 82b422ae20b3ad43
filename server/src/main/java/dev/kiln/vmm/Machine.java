package dev.kiln.vmm;

import java.util.Arrays;
import java.util.Locale;

/**
 * The QEMU machine a VM runs on. {@code microvm}: virtio-mmio devices, no PCI, the least to
 * emulate, so the fastest to boot; it cannot hot-plug. {@code q35}: a standard PC (PCI Express,
 * ACPI, SeaBIOS) with virtio-pci devices; slower to boot, but CPUs and memory can be hot-plugged.
 */
public enum Machine {
  MICROVM, Q35;

  /** The name in the API, the config and stored records: "microvm" or "q35". */
  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Machine fromWire(String s) {
    return Arrays.stream(values()).filter(m -> m.wire().equals(s)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("unknown machine '" + s + "' (known: microvm, q35)"));
  }
}
