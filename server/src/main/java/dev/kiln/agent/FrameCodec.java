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
