package dev.kiln.net.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/** Reads a request head (everything up to and including the first CRLFCRLF) off a client socket. */
final class HeadReader {
  /** Bytes of the head including its blank line; 32 KiB is what common servers accept, and bounds memory per connection. */
  static final int MAX_HEAD = 32 * 1024;

  /** The head, and whatever the client sent after it in the same reads (the start of a body or of frames). */
  record Head(byte[] bytes, byte[] rest) {}

  private HeadReader() {}

  /**
   * Reads until the blank line that ends the head, for at most {@code timeout} in total (a trickle
   * of bytes does not extend it).
   *
   * @return empty when the client sent nothing, or stalled: such a connection gets no answer
   * @throws ProxyException HEADERS_TOO_LARGE beyond {@link #MAX_HEAD}; INVALID_REQUEST when the
   *     client ended its side mid-head
   */
  static Optional<Head> read(Socket client, Duration timeout) throws IOException, ProxyException {
    InputStream in = client.getInputStream();
    byte[] buf = new byte[MAX_HEAD];
    int len = 0;
    long deadline = System.nanoTime() + timeout.toNanos();
    while (len < MAX_HEAD) {
      long left = deadline - System.nanoTime();
      if (left <= 0) return Optional.empty();
      client.setSoTimeout((int) Math.clamp(left / 1_000_000, 1, Integer.MAX_VALUE));
      int n;
      try {
        n = in.read(buf, len, MAX_HEAD - len);
      } catch (SocketTimeoutException e) {
        return Optional.empty();
      }
      if (n < 0) {
        if (len == 0) return Optional.empty();
        throw new ProxyException(ProxyError.INVALID_REQUEST, "the request head ended (" + len + " bytes) before its blank line");
      }
      int end = endOfHead(buf, Math.max(0, len - 3), len + n);
      len += n;
      if (end >= 0) return Optional.of(new Head(Arrays.copyOf(buf, end), Arrays.copyOfRange(buf, end, len)));
    }
    throw new ProxyException(ProxyError.HEADERS_TOO_LARGE, "the request head exceeds " + MAX_HEAD + " bytes");
  }

  /** The index just past the first CRLFCRLF that starts at or after {@code from}, or -1. */
  private static int endOfHead(byte[] b, int from, int to) {
    for (int i = from; i + 3 < to; i++) {
      if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n') return i + 4;
    }
    return -1;
  }
}
