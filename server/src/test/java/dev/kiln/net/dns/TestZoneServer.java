package dev.kiln.net.dns;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real authoritative DNS server for tests, on 127.0.0.1 with UDP and TCP on one ephemeral port;
 * point a resolver's upstream at {@link #address()}.
 *
 * <ul>
 *   <li>A query for a name of the zone gets its A records (TTL {@link #TTL_SECONDS}), after the
 *       CNAME records that lead to it; any other type for a known name gets NOERROR without data.
 *   <li>A name the zone does not know gets NXDOMAIN.
 *   <li>An answer over 512 bytes goes out over UDP as the question with TC set, and whole over TCP.
 *       A name with 40 or more addresses is such a big answer.
 *   <li>{@link #asked()} lists every name it was asked, over either transport.
 * </ul>
 *
 * Names are matched case-insensitively, given with or without the trailing dot. Not hardened: it
 * trusts its clients, which are the resolvers under test.
 */
public final class TestZoneServer implements AutoCloseable {
  public static final int TTL_SECONDS = 300;
  private static final int UDP_LIMIT = 512;

  private final Map<String, List<InetAddress>> a = new ConcurrentHashMap<>();
  private final Map<String, String> cnames = new ConcurrentHashMap<>();
  private final List<String> asked = new CopyOnWriteArrayList<>();
  private final DatagramSocket udp;
  private final ServerSocket tcp;

  private TestZoneServer(Map<String, List<String>> aRecords, DatagramSocket udp, ServerSocket tcp) throws IOException {
    for (var e : aRecords.entrySet()) {
      List<InetAddress> addresses = new ArrayList<>();
      for (String literal : e.getValue()) addresses.add(InetAddress.ofLiteral(literal));
      a.put(canonical(e.getKey()), addresses);
    }
    this.udp = udp;
    this.tcp = tcp;
    Thread.ofVirtual().name("zone-udp").start(this::serveUdp);
    Thread.ofVirtual().name("zone-tcp").start(this::acceptTcp);
  }

  /** Serves {@code aRecords}: name to IPv4 literals, e.g. {@code Map.of("example.com", List.of("192.0.2.1"))}. */
  public static TestZoneServer start(Map<String, List<String>> aRecords) throws IOException {
    for (int attempt = 1; ; attempt++) {
      DatagramSocket udp = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
      ServerSocket tcp = new ServerSocket();
      try {
        tcp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), udp.getLocalPort()));
      } catch (IOException e) { // that port is taken for TCP: pick another
        udp.close();
        tcp.close();
        if (attempt == 16) throw e;
        continue;
      }
      return new TestZoneServer(aRecords, udp, tcp);
    }
  }

  /** Adds {@code alias CNAME target}; the target may be outside the zone. Returns this. */
  public TestZoneServer cname(String alias, String target) {
    cnames.put(canonical(alias), canonical(target));
    return this;
  }

  public InetSocketAddress address() {
    return (InetSocketAddress) udp.getLocalSocketAddress();
  }

  /** The names asked so far, in order: lower case, no trailing dot. */
  public List<String> asked() {
    return Collections.unmodifiableList(asked);
  }

  @Override
  public void close() throws IOException {
    udp.close();
    tcp.close();
  }

  private void serveUdp() {
    byte[] buf = new byte[4096];
    while (!udp.isClosed()) {
      try {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        udp.receive(p);
        byte[] reply = answer(Arrays.copyOf(buf, p.getLength()), UDP_LIMIT);
        if (reply != null) udp.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
      } catch (IOException e) {
        // closed, or one bad exchange: keep serving until closed
      }
    }
  }

  private void acceptTcp() {
    while (!tcp.isClosed()) {
      try {
        Socket s = tcp.accept();
        Thread.ofVirtual().start(() -> serveTcp(s));
      } catch (IOException e) {
        // closed
      }
    }
  }

  private void serveTcp(Socket s) {
    try (s) {
      DataInputStream in = new DataInputStream(s.getInputStream());
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      while (true) {
        byte[] query = new byte[in.readUnsignedShort()];
        in.readFully(query);
        byte[] reply = answer(query, 65_535);
        if (reply == null) return;
        out.writeShort(reply.length);
        out.write(reply);
        out.flush();
      }
    } catch (IOException e) {
      // the client closed
    }
  }

  /** The reply to {@code query}, or null for anything that is not a plain one-question query. */
  private byte[] answer(byte[] query, int limit) {
    if (query.length < 12 || (query[2] & 0x80) != 0) return null;
    List<String> labels = new ArrayList<>();
    int at = 12;
    while (at < query.length && query[at] != 0) {
      int len = query[at] & 0xFF;
      if (len > 63 || at + 1 + len >= query.length) return null;
      labels.add(new String(query, at + 1, len, StandardCharsets.ISO_8859_1));
      at += 1 + len;
    }
    if (at + 5 > query.length) return null;
    int questionEnd = at + 5;
    int type = ((query[at + 1] & 0xFF) << 8) | (query[at + 2] & 0xFF);
    String qname = canonical(String.join(".", labels));
    asked.add(qname);

    ByteArrayOutputStream records = new ByteArrayOutputStream();
    int count = 0;
    String name = qname;
    for (int hops = 0; cnames.containsKey(name) && hops < 8; hops++) {
      String target = cnames.get(name);
      ByteArrayOutputStream data = new ByteArrayOutputStream();
      writeName(data, target);
      record(records, name, qname, 5, data.toByteArray());
      count++;
      name = target;
    }
    boolean known = count > 0 || a.containsKey(qname);
    if (type == 1) {
      for (InetAddress address : a.getOrDefault(name, List.of())) {
        record(records, name, qname, 1, address.getAddress());
        count++;
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(query[0]);
    out.write(query[1]);
    out.write(0x84 | (query[2] & 0x01)); // QR, AA, RD as asked
    out.write(known ? 0 : 3);
    out.writeBytes(new byte[] {0, 1, (byte) (count >> 8), (byte) count, 0, 0, 0, 0});
    out.write(query, 12, questionEnd - 12);
    out.writeBytes(records.toByteArray());
    if (out.size() <= limit) return out.toByteArray();
    byte[] truncated = Arrays.copyOf(out.toByteArray(), questionEnd);
    truncated[2] |= 0x02; // TC
    truncated[6] = 0;
    truncated[7] = 0;
    return truncated;
  }

  /** One record; an owner equal to the question's name is written as a pointer to it. */
  private static void record(ByteArrayOutputStream out, String owner, String qname, int type, byte[] data) {
    if (owner.equals(qname)) {
      out.write(0xC0);
      out.write(12);
    } else {
      writeName(out, owner);
    }
    out.writeBytes(new byte[] {0, (byte) type, 0, 1});
    out.writeBytes(new byte[] {(byte) (TTL_SECONDS >> 24), (byte) (TTL_SECONDS >> 16), (byte) (TTL_SECONDS >> 8), (byte) TTL_SECONDS});
    out.write(data.length >> 8);
    out.write(data.length);
    out.writeBytes(data);
  }

  private static void writeName(ByteArrayOutputStream out, String name) {
    if (!name.isEmpty()) {
      for (String label : name.split("\\.")) {
        out.write(label.length());
        out.writeBytes(label.getBytes(StandardCharsets.ISO_8859_1));
      }
    }
    out.write(0);
  }

  private static String canonical(String name) {
    String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    return n.toLowerCase(Locale.ROOT);
  }
}
