package dev.kiln.net.dns;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A domain name as it came off the wire: its labels, each a string of ISO-8859-1 characters that
 * stand for the label's raw bytes (so no byte is lost or reinterpreted).
 */
record DnsName(List<String> labels) {
  DnsName {
    labels = List.copyOf(labels);
    int wire = 1;
    for (String l : labels) {
      if (l.isEmpty() || l.length() > 63) throw new IllegalArgumentException("label of " + l.length() + " bytes, expected 1..63");
      wire += 1 + l.length();
    }
    if (wire > WireReader.MAX_NAME_WIRE) throw new IllegalArgumentException("name of " + wire + " bytes, the limit is " + WireReader.MAX_NAME_WIRE);
  }

  /**
   * Lower case, dotted, no trailing dot, "" for the root. Bytes outside {@code [a-z0-9-_]} are
   * written {@code \DDD}: policies only ever see hostname characters and real dots, and two names
   * give the same text exactly when DNS considers them equal.
   */
  String text() {
    StringBuilder b = new StringBuilder();
    for (String label : labels) {
      if (!b.isEmpty()) b.append('.');
      for (int i = 0; i < label.length(); i++) {
        char c = label.charAt(i);
        if (c >= 'A' && c <= 'Z') c = (char) (c + ('a' - 'A'));
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') b.append(c);
        else b.append('\\').append(String.format("%03d", (int) c));
      }
    }
    return b.toString();
  }

  /** Uncompressed, with the labels' original case. */
  void writeTo(ByteArrayOutputStream out) {
    for (String label : labels) {
      out.write(label.length());
      out.writeBytes(label.getBytes(StandardCharsets.ISO_8859_1));
    }
    out.write(0);
  }
}
