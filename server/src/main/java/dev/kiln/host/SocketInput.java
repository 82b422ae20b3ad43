package dev.kiln.host;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * An InputStream that reads a blocking SocketChannel directly. Channels.newInputStream would take
 * the channel's blocking lock, which a concurrent writer also needs: a reader thread waiting for
 * the peer would then stall every write.
 */
public final class SocketInput extends InputStream {
  private final SocketChannel ch;

  public SocketInput(SocketChannel ch) {
    this.ch = ch;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    return len == 0 ? 0 : ch.read(ByteBuffer.wrap(b, off, len));
  }
}
