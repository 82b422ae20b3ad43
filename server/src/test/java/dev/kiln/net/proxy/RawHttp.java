package dev.kiln.net.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** A client on a bare socket, so tests control every byte of the request and see every byte of the answer. */
final class RawHttp {
  /** An answer; {@code status} is -1 when the proxy closed without answering. */
  record Response(int status, Map<String, List<String>> headers, String body) {
    String header(String name) {
      List<String> v = headers.get(name.toLowerCase(Locale.ROOT));
      return v == null ? null : v.getFirst();
    }

    /** The proxy's own error answer, checked for shape; returns its code. */
    String errorCode() {
      assertEquals("application/json", header("content-type"), body);
      assertEquals("close", header("connection"));
      assertEquals(body.getBytes(StandardCharsets.UTF_8).length, Integer.parseInt(header("content-length")));
      assertTrue(body.matches("\\{\"error\":\\{\"code\":\"[A-Z_]+\",\"message\":\"[^\"\\\\]*(\\\\.[^\"\\\\]*)*\"}}"), body);
      return body.replaceAll(".*\"code\":\"([A-Z_]+)\".*", "$1");
    }
  }

  private RawHttp() {}

  static Response send(InetSocketAddress proxy, String request) throws IOException {
    return send(proxy, request.getBytes(StandardCharsets.ISO_8859_1), false);
  }

  /** Sends, optionally half-closes, and reads until the proxy closes. */
  static Response send(InetSocketAddress proxy, byte[] request, boolean halfClose) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(proxy, 5_000);
      s.setSoTimeout(10_000);
      try {
        s.getOutputStream().write(request);
        if (halfClose) s.shutdownOutput();
      } catch (SocketException e) {
        // the proxy may answer and close before a large request is all written; read its answer
      }
      return parse(readAll(s.getInputStream()));
    }
  }

  static String get(String path, String... headers) {
    StringBuilder b = new StringBuilder("GET " + path + " HTTP/1.1\r\n");
    boolean host = false;
    for (String h : headers) {
      b.append(h).append("\r\n");
      host |= h.regionMatches(true, 0, "Host:", 0, 5);
    }
    if (!host) b.append("Host: 127.0.0.1\r\n");
    return b.append("\r\n").toString();
  }

  private static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    try {
      for (int n; (n = in.read(buf)) >= 0; ) out.write(buf, 0, n);
    } catch (SocketException e) {
      // a reset after the answer arrived still leaves the answer
    }
    return out.toByteArray();
  }

  private static Response parse(byte[] raw) {
    String text = new String(raw, StandardCharsets.UTF_8);
    if (text.isEmpty()) return new Response(-1, Map.of(), "");
    int end = text.indexOf("\r\n\r\n");
    assertTrue(end > 0, "no response head in: " + text);
    String[] lines = text.substring(0, end).split("\r\n");
    assertTrue(lines[0].matches("HTTP/1\\.1 \\d{3} .*"), lines[0]);
    Map<String, List<String>> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.computeIfAbsent(lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT), k -> new ArrayList<>()).add(lines[i].substring(colon + 1).strip());
    }
    return new Response(Integer.parseInt(lines[0].substring(9, 12)), headers, text.substring(end + 4));
  }
}
