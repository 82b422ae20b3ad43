package dev.kiln.net.dns;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A stub resolver's side of DNS, written independently of the main code so it can check it. */
final class TestDnsClient {
  static final int A = 1;
  static final int TXT = 16;
  static final int AAAA = 28;

  private TestDnsClient() {}

  /** A reply as a client sees it: rcode, flags and the A records of the answer section. */
  record Reply(byte[] raw, int id, boolean truncated, int rcode, int qdcount, List<String> addresses, List<Long> ttls) {}

  static byte[] query(int id, String name, int type) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) (id >> 8), (byte) id, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0});
    for (String label : name.split("\\.")) {
      out.write(label.length());
      out.writeBytes(label.getBytes(StandardCharsets.ISO_8859_1));
    }
    out.writeBytes(new byte[] {0, (byte) (type >> 8), (byte) type, 0, 1});
    return out.toByteArray();
  }

  static Reply udp(InetSocketAddress server, byte[] query) throws IOException {
    try (DatagramSocket s = new DatagramSocket()) {
      s.setSoTimeout(5_000);
      s.send(new DatagramPacket(query, query.length, server));
      return receive(s);
    }
  }

  /** The next datagram on {@code s}, within its timeout; any size up to 64 KiB, so oversize replies show. */
  static Reply receive(DatagramSocket s) throws IOException {
    byte[] buf = new byte[65_536];
    DatagramPacket p = new DatagramPacket(buf, buf.length);
    s.receive(p);
    return parse(Arrays.copyOf(buf, p.getLength()));
  }

  /** Like {@link #receive}, but keeps only the header's view, for replies to garbage. */
  static Reply parseLenient(DatagramSocket s) throws IOException {
    byte[] buf = new byte[65_536];
    DatagramPacket p = new DatagramPacket(buf, buf.length);
    s.receive(p);
    byte[] m = Arrays.copyOf(buf, p.getLength());
    return new Reply(m, u16(m, 0), (m[2] & 0x02) != 0, m[3] & 0x0F, u16(m, 4), List.of(), List.of());
  }

  static Reply tcp(InetSocketAddress server, byte[] query) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(server, 5_000);
      s.setSoTimeout(5_000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.writeShort(query.length);
      out.write(query);
      out.flush();
      DataInputStream in = new DataInputStream(s.getInputStream());
      byte[] reply = new byte[in.readUnsignedShort()];
      in.readFully(reply);
      return parse(reply);
    }
  }

  static Reply parse(byte[] m) {
    int qd = u16(m, 4);
    int an = u16(m, 6);
    int at = 12;
    for (int i = 0; i < qd; i++) at = skipName(m, at) + 4;
    List<String> addresses = new ArrayList<>();
    List<Long> ttls = new ArrayList<>();
    for (int i = 0; i < an; i++) {
      at = skipName(m, at);
      int type = u16(m, at);
      long ttl = ((long) u16(m, at + 4) << 16) | u16(m, at + 6);
      int length = u16(m, at + 8);
      at += 10;
      if (type == A) {
        addresses.add((m[at] & 0xFF) + "." + (m[at + 1] & 0xFF) + "." + (m[at + 2] & 0xFF) + "." + (m[at + 3] & 0xFF));
        ttls.add(ttl);
      }
      at += length;
    }
    return new Reply(m, u16(m, 0), (m[2] & 0x02) != 0, m[3] & 0x0F, qd, addresses, ttls);
  }

  private static int skipName(byte[] m, int at) {
    while ((m[at] & 0xFF) != 0) {
      if ((m[at] & 0xC0) == 0xC0) return at + 2;
      at += 1 + (m[at] & 0xFF);
    }
    return at + 1;
  }

  private static int u16(byte[] m, int at) {
    return ((m[at] & 0xFF) << 8) | (m[at + 1] & 0xFF);
  }
}
