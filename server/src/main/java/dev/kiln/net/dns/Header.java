package dev.kiln.net.dns;

/**
 * The fixed part of a DNS message (RFC 1035 4.1.1):
 *
 * <pre>
 *  0  1  2  3  4  5  6  7  8  9 10 11 12 13 14 15
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * |                      ID                       |
 * |QR|  Opcode   |AA|TC|RD|RA|   Z    |   RCODE   |
 * |                    QDCOUNT                    |
 * |                    ANCOUNT                    |
 * |                    NSCOUNT                    |
 * |                    ARCOUNT                    |
 * +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
 * </pre>
 */
record Header(int id, int flags, int qdcount, int ancount, int nscount, int arcount) {
  static final int QR = 0x8000;
  static final int AA = 0x0400;
  static final int TC = 0x0200;
  static final int RD = 0x0100;
  static final int RA = 0x0080;

  /** The header of {@code msg}, which the caller has checked holds at least {@link WireReader#HEADER_SIZE} bytes. */
  static Header of(byte[] msg) {
    if (msg.length < WireReader.HEADER_SIZE) throw new IllegalArgumentException("message of " + msg.length + " bytes has no header");
    return new Header(u16(msg, 0), u16(msg, 2), u16(msg, 4), u16(msg, 6), u16(msg, 8), u16(msg, 10));
  }

  private static int u16(byte[] msg, int at) {
    return ((msg[at] & 0xFF) << 8) | (msg[at + 1] & 0xFF);
  }

  boolean isResponse() {
    return (flags & QR) != 0;
  }

  int opcode() {
    return (flags >> 11) & 0xF;
  }

  boolean truncated() {
    return (flags & TC) != 0;
  }
}
