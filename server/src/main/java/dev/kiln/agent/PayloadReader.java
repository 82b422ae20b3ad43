package dev.kiln.agent;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Bounds-checked decoding of payload fields; every violation is a {@link ProtocolException}. */
final class PayloadReader {
  static final int MAX_STRING = 65_536;
  static final int MAX_LIST = 4_096;

  private final ByteBuffer buf;
  private final FrameType type;

  PayloadReader(Frame frame) {
    this.buf = ByteBuffer.wrap(frame.payload());
    this.type = frame.type();
  }

  int u8() throws ProtocolException {
    need(1);
    return Byte.toUnsignedInt(buf.get());
  }

  long u32() throws ProtocolException {
    need(4);
    return Integer.toUnsignedLong(buf.getInt());
  }

  int i32() throws ProtocolException {
    need(4);
    return buf.getInt();
  }

  long u64() throws ProtocolException {
    need(8);
    long v = buf.getLong();
    if (v < 0) throw new ProtocolException(type + ": u64 field out of range");
    return v;
  }

  long i64() throws ProtocolException {
    need(8);
    return buf.getLong();
  }

  byte[] str() throws ProtocolException {
    long n = u32();
    if (n > MAX_STRING) throw new ProtocolException(type + ": string of " + n + " bytes, the limit is " + MAX_STRING);
    need((int) n);
    byte[] s = new byte[(int) n];
    buf.get(s);
    return s;
  }

  List<byte[]> strList() throws ProtocolException {
    long n = u32();
    if (n > MAX_LIST) throw new ProtocolException(type + ": list of " + n + " items, the limit is " + MAX_LIST);
    List<byte[]> out = new ArrayList<>((int) n);
    for (int i = 0; i < n; i++) out.add(str());
    return out;
  }

  byte[] rest() {
    byte[] r = new byte[buf.remaining()];
    buf.get(r);
    return r;
  }

  void end() throws ProtocolException {
    if (buf.hasRemaining()) throw new ProtocolException(type + ": " + buf.remaining() + " unexpected trailing bytes");
  }

  private void need(int n) throws ProtocolException {
    if (buf.remaining() < n) {
      throw new ProtocolException(type + ": payload ends " + (n - buf.remaining()) + " bytes early");
    }
  }
}
