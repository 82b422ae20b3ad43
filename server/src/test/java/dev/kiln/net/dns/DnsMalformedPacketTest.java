package dev.kiln.net.dns;

import static dev.kiln.net.dns.TestDnsClient.A;
import static dev.kiln.net.dns.TestDnsClient.query;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.net.dns.TestDnsClient.Reply;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Hostile bytes from a guest: each gets FORMERR, NOTIMP or nothing, and the server keeps serving. */
class DnsMalformedPacketTest {
  private TestZoneServer zone;
  private DnsServer dns;

  @BeforeEach
  void start() throws IOException {
    zone = TestZoneServer.start(Map.of("www.example.com", List.of("192.0.2.1")));
    TestPolicy policy = new TestPolicy(List.of("*.example.com"), Map.of());
    dns = DnsServer.start(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), List.of(zone.address()),
        source -> Optional.of(policy));
  }

  @AfterEach
  void stop() throws IOException {
    dns.close();
    zone.close();
  }

  @Test
  void craftedPacketsGetTheRightErrorOrNothing() throws Exception {
    byte[] header = hex("abcd 0100 0001 0000 0000 0000");
    expect(null, new byte[0], "empty");
    expect(null, Arrays.copyOf(header, 11), "a header short by one byte");
    expect(null, hex("abcd 8100 0001 0000 0000 0000 00 0001 0001"), "a response, QR set");
    expect(4, hex("abcd 2900 0001 0000 0000 0000 00 0001 0001"), "opcode UPDATE (5)");
    expect(1, header, "QDCOUNT 1 but no question");
    expect(1, hex("abcd 0100 ffff 0000 0000 0000 00 0001 0001"), "QDCOUNT 65535");
    expect(1, hex("abcd 0100 0000 0000 0000 0000"), "QDCOUNT 0");
    expect(1, hex("abcd 0100 0001 ffff 0000 0000 00 0001 0001"), "ANCOUNT 65535 in a query");
    expect(1, hex("abcd 0100 0001 0000 0000 0000 c00c 0001 0001"), "pointer to itself");
    expect(1, hex("abcd 0100 0001 0000 0000 0000 0161 c00c 0001 0001"), "pointer back to its own start: a loop");
    expect(1, hex("abcd 0100 0001 0000 0000 0000 c012 0001 0001 0000 0161 00"), "pointer forward");
    expect(1, hex("abcd 0100 0001 0000 0000 0000 c002 0001 0001"), "pointer into the header");
    expect(1, hex("abcd 0100 0001 0000 0000 0000 3f61 6263"), "label past the end");
    expect(1, hex("abcd 0100 0001 0000 0000 0000 4161 00 0001 0001"), "extended label type 0x40");
    expect(1, hex("abcd 0100 0001 0000 0000 0000 0377 7777 00 00"), "question without its class");
    expect(1, longName(), "name over 255 bytes");
    expect(4, hex("abcd 0100 0001 0000 0000 0000 0377 7777 00 0001 0003"), "class CHAOS");
    expect(4, query(0xabcd, "www.example.com", 252), "AXFR");
    assertEquals(0, TestDnsClient.udp(dns.address(), query(1, "www.example.com", A)).rcode(), "still serving");
  }

  @Test
  void randomBarrageNeverKillsTheServerNorGetsAnOversizedReply() throws Exception {
    long seed = System.nanoTime();
    System.out.println("DnsMalformedPacketTest seed=" + seed);
    Random random = new Random(seed);
    byte[] valid = query(0x4242, "www.example.com", A);
    List<Reply> replies = new ArrayList<>();
    try (DatagramSocket client = new DatagramSocket()) {
      for (int i = 0; i < 3_000; i++) {
        byte[] packet;
        if (i % 2 == 0) {
          packet = new byte[random.nextInt(600)];
          random.nextBytes(packet);
        } else { // a valid query with a few bytes changed reaches the deeper checks
          packet = Arrays.copyOf(valid, valid.length - random.nextInt(3) + random.nextInt(3));
          for (int flips = 1 + random.nextInt(4); flips > 0; flips--) packet[random.nextInt(packet.length)] = (byte) random.nextInt(256);
        }
        client.send(new DatagramPacket(packet, packet.length, dns.address()));
        if (i % 100 == 99) drain(client, replies, 1); // keep the socket's receive buffer from overflowing
      }
      drain(client, replies, 300);
    }
    assertTrue(replies.size() > 100, "seed " + seed + ": the server answered the barrage, got " + replies.size());
    for (Reply r : replies) assertTrue(r.raw().length <= 512, "seed " + seed + ": reply of " + r.raw().length + " bytes");
    assertEquals(List.of("192.0.2.1"), TestDnsClient.udp(dns.address(), query(2, "www.example.com", A)).addresses(),
        "seed " + seed + ": still serving");
  }

  @Test
  void tcpGarbageNeverKillsTheServer() throws Exception {
    tcpSend(hex("0000")); // a zero-length message
    tcpSend(hex("ffff 0102 03")); // 65535 announced, 3 sent, then closed
    tcpSend(hex("00")); // half a length prefix
    tcpSend(hex("000c abcd 8100 0000 0000 0000 0000")); // a response
    Random random = new Random(7);
    byte[] noise = new byte[2_000];
    random.nextBytes(noise);
    tcpSend(noise);
    assertEquals(0, TestDnsClient.tcp(dns.address(), query(3, "www.example.com", A)).rcode(), "still serving");
  }

  @Test
  void tcpConnectionIsClosedAfterAMessageWithNoReply() throws Exception {
    try (Socket s = new Socket()) {
      s.connect(dns.address());
      s.setSoTimeout(5_000);
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      out.write(hex("0004 0102 0304"));
      out.flush();
      assertEquals(-1, s.getInputStream().read());
    }
  }

  private void expect(Integer rcode, byte[] packet, String what) throws IOException {
    try (DatagramSocket client = new DatagramSocket()) {
      client.send(new DatagramPacket(packet, packet.length, dns.address()));
      if (rcode == null) {
        client.setSoTimeout(200);
        assertThrows(SocketTimeoutException.class, () -> TestDnsClient.receive(client), what + ": dropped");
        return;
      }
      client.setSoTimeout(5_000);
      Reply reply = TestDnsClient.receive(client);
      assertEquals(rcode, reply.rcode(), what);
      assertEquals(0xabcd, reply.id(), what);
      assertTrue(reply.raw().length <= 512, what);
    }
  }

  private void tcpSend(byte[] bytes) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(dns.address());
      s.setSoTimeout(5_000);
      s.getOutputStream().write(bytes);
      s.shutdownOutput();
      while (s.getInputStream().read() >= 0) {
        // whatever the server says before it closes
      }
    } catch (IOException e) {
      // a reset is a fine way to end garbage
    }
  }

  private static void drain(DatagramSocket client, List<Reply> replies, int waitMillis) throws IOException {
    client.setSoTimeout(waitMillis);
    try {
      while (true) replies.add(TestDnsClient.parseLenient(client));
    } catch (SocketTimeoutException e) {
      // drained
    }
  }

  private static byte[] longName() {
    StringBuilder name = new StringBuilder();
    for (int i = 0; i < 5; i++) name.append("3f").append("61".repeat(63));
    return hex("abcd 0100 0001 0000 0000 0000" + name + "00 0001 0001");
  }

  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s.replace(" ", ""));
  }
}
