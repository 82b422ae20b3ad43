package dev.kiln.system;

import java.io.ByteArrayOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/** A plain HTTP/1.1 GET with a Host header of our choosing (java.net.http will not set Host). */
final class RawGet {
  private RawGet() {}

  /** The body on a 200, else the whole response. */
  static String get(int port, String hostHeader, String path) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(20_000);
      s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + hostHeader + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      s.getInputStream().transferTo(out);
      String r = out.toString(StandardCharsets.UTF_8);
      int body = r.indexOf("\r\n\r\n");
      return r.startsWith("HTTP/1.1 200") || r.startsWith("HTTP/1.0 200") ? r.substring(body + 4) : r;
    }
  }
}
