package dev.kiln.net.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** The proxy's own answers: {@code {"error":{"code":…,"message":…}}}, then the connection ends. */
final class ErrorResponse {
  // After answering, the client may still be sending (a large head, a body nobody will read).
  // Closing with unread input makes the kernel send RST, which can destroy the answer before the
  // client reads it; so read and discard for a bounded while first.
  private static final int DRAIN_BYTES = 1 << 20;
  private static final int DRAIN_MILLIS = 2_000;

  private ErrorResponse() {}

  /** Writes the answer and half-closes; I/O failures are the client's problem and are ignored. */
  static void send(Socket client, ProxyException e) {
    try {
      client.getOutputStream().write(render(e.error(), e.getMessage()));
      client.shutdownOutput();
      drain(client);
    } catch (IOException ignored) {
      // the client went away; the caller closes the socket either way
    }
  }

  static byte[] render(ProxyError error, String message) {
    byte[] body = ("{\"error\":{\"code\":\"" + error.name() + "\",\"message\":\"" + json(message) + "\"}}")
        .getBytes(StandardCharsets.UTF_8);
    String head = "HTTP/1.1 " + error.status + " " + error.reason + "\r\n"
        + "Content-Type: application/json\r\n"
        + "Content-Length: " + body.length + "\r\n"
        + "Connection: close\r\n\r\n";
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    byte[] out = new byte[h.length + body.length];
    System.arraycopy(h, 0, out, 0, h.length);
    System.arraycopy(body, 0, out, h.length, body.length);
    return out;
  }

  private static void drain(Socket client) throws IOException {
    client.setSoTimeout(DRAIN_MILLIS);
    InputStream in = client.getInputStream();
    byte[] buf = new byte[8192];
    long deadline = System.nanoTime() + DRAIN_MILLIS * 1_000_000L;
    int total = 0;
    for (int n; total < DRAIN_BYTES && System.nanoTime() < deadline && (n = in.read(buf)) >= 0; ) total += n;
  }

  private static String json(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        default -> {
          if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
      }
    }
    return b.toString();
  }
}
