package dev.kiln.sandbox;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** The end of a guest's console log: the guest writes it, so the file can be any size. */
final class ConsoleTail {
  private ConsoleTail() {}

  /** At most the last {@code max} bytes of the file; empty if it cannot be read (or is a link the guest's QEMU put there). */
  static byte[] bytes(Path file, int max) {
    return dev.kiln.host.UntrustedFiles.tail(file, max);
  }

  /** The last lines the guest printed, as text, for boot failure messages (the run directory is removed after). */
  static String of(Path file, int max) {
    return new String(bytes(file, max), StandardCharsets.ISO_8859_1).strip();
  }
}
