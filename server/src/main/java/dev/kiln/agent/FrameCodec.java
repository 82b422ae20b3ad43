package dev.kiln.agent;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;

/**
 * Reads and writes frames:
 *
 * <pre>
 *  0        1        2        3        4                 8                 12
 * +--------+--------+-----------------+-----------------+-----------------+-----------
 * | version|  type  |  flags (u16)    |  stream (u32)   |  length (u32)   | payload…
 * +--------+--------+-----------------+-----------------+-----------------+-----------
 * </pre>
 *
 * The length is checked against {@link #MAX_PAYLOAD} before a byte of the body is allocated, so a
 * guest claiming a 2 GiB frame costs the host nothing but the closed channel.
 */
final class FrameCodec {
  static final int VERSION = 1;
  static final int HEADER = 12;
  /** 1 MiB: large enough for any control payload (argv, env, a listing page), small enough to buffer. */
  static final int MAX_PAYLOAD = 1 << 20;
  /** Data frames are cut to 64 KiB so a big transfer interleaves fairly with other streams. */
  static final int DATA_CHUNK = 64 * 1024;

  private FrameCodec() {}

  /** Blocks for one whole frame; returns null on a clean EOF between frames. */
  static Frame read(InputStream in) throws IOException, ProtocolException {
    byte[] header = new byte[HEADER];
    int first = in.read(header, 0, 1);
    if (first < 0) return null;
    readFully(in, header, 1, HEADER - 1);
    ByteBuffer b = ByteBuffer.wrap(header);
    int version = Byte.toUnsignedInt(b.get());
    if (version != VERSION) throw new ProtocolException("frame version " + version + ", expected " + VERSION);
    FrameType type = FrameType.of(Byte.toUnsignedInt(b.get()));
    b.getShort();
    int stream = b.getInt();
    long length = Integer.toUnsignedLong(b.getInt());
    if (length > MAX_PAYLOAD) {
      throw new ProtocolException("frame of " + length + " bytes on stream " + Integer.toUnsignedString(stream)
          + ", the limit is " + MAX_PAYLOAD);
    }
    byte[] payload = new byte[(int) length];
    readFully(in, payload, 0, payload.length);
    return new Frame(type, stream, payload);
  }

  /** Bytes of an earlier session the reader may skip before this one's HELLO_OK. */
  static final int MAX_STALE_BYTES = 4 << 20;

  /**
   * Reads up to and including the HELLO_OK that starts with {@code nonce}, skipping whatever comes
   * before it: a channel taken over from an earlier session (a restored VM, a restarted host) can
   * still hold the tail of that session's output, down to half a frame.
   */
  static Frame readHelloOk(InputStream in, byte[] nonce) throws IOException, ProtocolException {
    // header: version, type, flags (0), stream 0, length (unknown); then the nonce's length and bytes
    byte[] want = ByteBuffer.allocate(HEADER + 4 + nonce.length).put((byte) VERSION).put((byte) FrameType.HELLO_OK.code).putShort((short) 0)
        .putInt(0).putInt(0).putInt(nonce.length).put(nonce).array();
    byte[] window = new byte[want.length];
    int filled = 0;
    long skipped = 0;
    while (true) {
      int b = in.read();
      if (b < 0) throw new EOFException("channel closed before HELLO_OK");
      if (filled < window.length) {
        window[filled++] = (byte) b;
      } else {
        System.arraycopy(window, 1, window, 0, window.length - 1);
        window[window.length - 1] = (byte) b;
        if (++skipped > MAX_STALE_BYTES) throw new ProtocolException("no HELLO_OK within " + MAX_STALE_BYTES + " bytes");
      }
      if (filled == window.length && matches(window, want)) break;
    }
    if (skipped > 0) org.slf4j.LoggerFactory.getLogger(FrameCodec.class).info("skipped {} bytes of an earlier agent session before HELLO_OK", skipped);
    long length = Integer.toUnsignedLong(ByteBuffer.wrap(window, 8, 4).getInt());
    int seen = 4 + nonce.length;
    if (length < seen || length > MAX_PAYLOAD) throw new ProtocolException("HELLO_OK of " + length + " bytes");
    byte[] payload = new byte[(int) length];
    System.arraycopy(window, HEADER, payload, 0, seen);
    readFully(in, payload, seen, payload.length - seen);
    return new Frame(FrameType.HELLO_OK, 0, payload);
  }

  /** Every byte but the header's length field (8..11), which is not known ahead. */
  private static boolean matches(byte[] window, byte[] want) {
    for (int i = 0; i < want.length; i++) {
      if ((i < 8 || i >= HEADER) && window[i] != want[i]) return false;
    }
    return true;
  }

  static byte[] encode(FrameType type, int stream, byte[] payload) {
    if (payload.length > MAX_PAYLOAD) throw new IllegalArgumentException("payload of " + payload.length + " bytes exceeds " + MAX_PAYLOAD);
    ByteBuffer b = ByteBuffer.allocate(HEADER + payload.length);
    b.put((byte) VERSION).put((byte) type.code).putShort((short) 0).putInt(stream).putInt(payload.length).put(payload);
    return b.array();
  }

  private static void readFully(InputStream in, byte[] buf, int off, int len) throws IOException {
    int n = in.readNBytes(buf, off, len);
    if (n < len) throw new EOFException("channel closed inside a frame (" + n + " of " + len + " bytes)");
  }
}
