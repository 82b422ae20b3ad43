package dev.kiln.cli;

import java.io.ByteArrayOutputStream;

/** Text a guest wrote, made safe for the operator's terminal: no escape sequences, no overwritten lines. */
final class ConsoleText {
  private ConsoleText() {}

  /**
   * Line ends as the terminal expects (a serial console writes CR LF; a lone CR, which would let the
   * guest overwrite what is shown, starts a new line) and every other control byte as '?'.
   */
  static byte[] printable(byte[] raw) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length);
    for (int i = 0; i < raw.length; i++) {
      int b = raw[i] & 0xff;
      if (b == '\r') {
        if (i + 1 < raw.length && raw[i + 1] == '\n') continue;
        out.write('\n');
      } else if (b < 0x20 && b != '\n' && b != '\t' || b == 0x7f) {
        out.write('?');
      } else {
        out.write(b);
      }
    }
    return out.toByteArray();
  }

  /** A table cell: one line, no control characters (an event message, a label, are user or guest text). */
  static String oneLine(String s) {
    StringBuilder b = new StringBuilder(s.length());
    s.codePoints().forEach(c -> b.appendCodePoint(c == '\n' || c == '\r' || c == '\t' ? ' ' : Character.isISOControl(c) ? '?' : c));
    return b.toString();
  }
}
