package dev.kiln.agent;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.time.Duration;

/** A guest file's content as it streams in; holds at most one window of it at a time. */
public final class GuestFileInput extends InputStream {
  /** A guest that stops sending mid-file for this long is treated as stuck. */
  private static final Duration STALL_TIMEOUT = Duration.ofSeconds(120);
  private final AgentConnection conn;
  private final Stream stream;
  private final long sizeAtOpen;
  private byte[] chunk = new byte[0];
  private int pos;
  private boolean finished;

  GuestFileInput(AgentConnection conn, Stream stream, long sizeAtOpen) {
    this.conn = conn;
    this.stream = stream;
    this.sizeAtOpen = sizeAtOpen;
  }

  /** The file's size when the guest opened it. */
  public long sizeAtOpen() {
    return sizeAtOpen;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) return 0;
    while (pos == chunk.length) {
      if (finished) return -1;
      fill();
    }
    int n = Math.min(len, chunk.length - pos);
    System.arraycopy(chunk, pos, b, off, n);
    pos += n;
    return n;
  }

  private void fill() throws IOException {
    try {
      GuestMessage m = conn.takeReply(stream, STALL_TIMEOUT);
      switch (m) {
        case GuestMessage.Bytes bytes when bytes.channel() == GuestMessage.Channel.DATA -> {
          chunk = bytes.data();
          pos = 0;
        }
        case GuestMessage.End e -> {
          finished = true;
          conn.release(stream);
        }
        default -> throw conn.unexpected(stream, m, "DATA or END");
      }
    } catch (AgentException e) {
      finished = true;
      throw new IOException("reading guest file failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while reading a guest file");
    }
  }

  @Override
  public void close() {
    if (!finished) {
      finished = true;
      conn.cancel(stream);
    }
  }
}
