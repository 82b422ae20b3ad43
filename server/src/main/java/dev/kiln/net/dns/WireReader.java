package dev.kiln.net.dns;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A bounds-checked cursor over one DNS message. Every read past the end, and every name that
 * breaks RFC 1035's limits, throws {@link DnsFormatException}; nothing here allocates more than the
 * message already holds.
 *
 * <p>A name is a run of labels ended by a zero byte or by a compression pointer:
 *
 * <pre>
 *  +--+--+--+--+--+--+--+--+
 *  | 0  0|  length 1..63   |  label of `length` bytes follows
 *  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 *  | 1  1|            offset (14 bits)             |  the name continues at `offset`
 *  +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * </pre>
 */
final class WireReader {
  static final int HEADER_SIZE = 12;
  /** RFC 1035 3.1: a name takes at most 255 bytes on the wire, its final zero byte included. */
  static final int MAX_NAME_WIRE = 255;
  /**
   * Pointer targets must strictly decrease, so loops are impossible anyway; this bounds the work a
   * crafted chain of pointers can cause (a real name has at most 127 labels).
   */
  private static final int MAX_POINTERS = 64;

  private final byte[] msg;
  private int pos;

  /** A cursor at {@code start}, which is within {@code msg}. */
  WireReader(byte[] msg, int start) {
    if (start < 0 || start > msg.length) throw new IllegalArgumentException("start " + start + " outside " + msg.length + " bytes");
    this.msg = msg;
    this.pos = start;
  }

  int position() {
    return pos;
  }

  void seek(int position) throws DnsFormatException {
    if (position < 0 || position > msg.length) {
      throw new DnsFormatException("offset " + position + " outside a message of " + msg.length + " bytes");
    }
    pos = position;
  }

  int u8() throws DnsFormatException {
    require(1);
    return msg[pos++] & 0xFF;
  }

  int u16() throws DnsFormatException {
    require(2);
    int v = ((msg[pos] & 0xFF) << 8) | (msg[pos + 1] & 0xFF);
    pos += 2;
    return v;
  }

  long u32() throws DnsFormatException {
    return ((long) u16() << 16) | u16();
  }

  byte[] bytes(int n) throws DnsFormatException {
    require(n);
    byte[] out = new byte[n];
    System.arraycopy(msg, pos, out, 0, n);
    pos += n;
    return out;
  }

  /** Reads a name at the cursor, following compression pointers, and leaves the cursor after it. */
  DnsName name() throws DnsFormatException {
    List<String> labels = new ArrayList<>();
    int at = pos;
    int segmentStart = pos; // where the labels being read began; a pointer must go before it
    int resumeAt = -1;
    int wire = 0;
    int pointers = 0;
    while (true) {
      int len = byteAt(at);
      if (len == 0) {
        wire += 1;
        at += 1;
        break;
      }
      switch (len & 0xC0) {
        case 0xC0 -> {
          int target = ((len & 0x3F) << 8) | byteAt(at + 1);
          if (target < HEADER_SIZE || target >= segmentStart) {
            throw new DnsFormatException("compression pointer at " + at + " to " + target
                + ", expected an offset in " + HEADER_SIZE + ".." + (segmentStart - 1));
          }
          if (++pointers > MAX_POINTERS) throw new DnsFormatException("name with more than " + MAX_POINTERS + " pointers");
          if (resumeAt < 0) resumeAt = at + 2;
          at = target;
          segmentStart = target;
        }
        case 0x00 -> {
          wire += 1 + len;
          if (wire >= MAX_NAME_WIRE) throw new DnsFormatException("name longer than " + MAX_NAME_WIRE + " bytes");
          if (at + 1 + len > msg.length) {
            throw new DnsFormatException("label of " + len + " bytes at " + at + " runs past the message end " + msg.length);
          }
          labels.add(new String(msg, at + 1, len, StandardCharsets.ISO_8859_1));
          at += 1 + len;
        }
        default -> throw new DnsFormatException("label type 0x" + Integer.toHexString(len & 0xC0) + " at " + at + " is not supported");
      }
    }
    pos = resumeAt < 0 ? at : resumeAt;
    return new DnsName(labels);
  }

  private int byteAt(int at) throws DnsFormatException {
    if (at >= msg.length) throw new DnsFormatException("name runs past the message end " + msg.length);
    return msg[at] & 0xFF;
  }

  private void require(int n) throws DnsFormatException {
    if (n < 0 || msg.length - pos < n) {
      throw new DnsFormatException("need " + n + " bytes at offset " + pos + ", the message has " + msg.length);
    }
  }
}
