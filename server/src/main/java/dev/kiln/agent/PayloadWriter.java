package dev.kiln.agent;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Encodes payload fields in the protocol's big-endian layout. */
final class PayloadWriter {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  PayloadWriter u16(int v) {
    out.write(v >>> 8);
    out.write(v);
    return this;
  }

  PayloadWriter u32(long v) {
    out.write((int) (v >>> 24));
    out.write((int) (v >>> 16));
    out.write((int) (v >>> 8));
    out.write((int) v);
    return this;
  }

  PayloadWriter u64(long v) {
    u32(v >>> 32);
    return u32(v & 0xFFFF_FFFFL);
  }

  PayloadWriter str(byte[] s) {
    if (s.length > PayloadReader.MAX_STRING) {
      throw new IllegalArgumentException("string of " + s.length + " bytes exceeds the protocol limit of " + PayloadReader.MAX_STRING);
    }
    u32(s.length);
    out.writeBytes(s);
    return this;
  }

  PayloadWriter str(String s) {
    return str(s.getBytes(StandardCharsets.UTF_8));
  }

  PayloadWriter strList(List<String> items) {
    if (items.size() > PayloadReader.MAX_LIST) {
      throw new IllegalArgumentException("list of " + items.size() + " items exceeds the protocol limit of " + PayloadReader.MAX_LIST);
    }
    u32(items.size());
    items.forEach(this::str);
    return this;
  }

  byte[] bytes() {
    return out.toByteArray();
  }
}
