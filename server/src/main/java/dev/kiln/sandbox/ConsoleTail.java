package dev.kiln.sandbox;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** The end of a guest's console log: the guest writes it, so the file can be any size. */
final class ConsoleTail {
  private ConsoleTail() {}

  /** At most the last {@code max} bytes of the file; empty if it cannot be read. */
  static byte[] bytes(Path file, int max) {
    try (var ch = Files.newByteChannel(file)) {
      long size = ch.size();
      ByteBuffer buf = ByteBuffer.allocate((int) Math.min(size, max));
      ch.position(size - buf.capacity());
      while (buf.hasRemaining() && ch.read(buf) >= 0) {
        // read until the tail is in
      }
      return Arrays.copyOf(buf.array(), buf.position());
    } catch (IOException e) {
      return new byte[0];
    }
  }

  /** The last lines the guest printed, as text, for boot failure messages (the run directory is removed after). */
  static String of(Path file, int max) {
    return new String(bytes(file, max), StandardCharsets.ISO_8859_1).strip();
  }
}
