package dev.kiln.net.dns;

import static dev.kiln.net.dns.TestDnsClient.A;
import static dev.kiln.net.dns.TestDnsClient.AAAA;
import static dev.kiln.net.dns.TestDnsClient.TXT;
import static dev.kiln.net.dns.TestDnsClient.query;
import static dev.kiln.net.dns.TestDnsClient.tcp;
import static dev.kiln.net.dns.TestDnsClient.udp;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.net.dns.TestDnsClient.Reply;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The resolver end to end: real sockets on 127.0.0.1, a real upstream ({@link TestZoneServer}). */
class DnsServerTest {
  private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  /** Short upstream timeout so the failure tests take well under a second each. */
  private static final DnsLimits FAST = new DnsLimits(Duration.ofMillis(400), Duration.ofMillis(500), 4, 2, 256, 64);

  private TestZoneServer zone;
  private TestPolicy policy;
  private final List<AutoCloseable> closing = new ArrayList<>();

  @BeforeEach
  void zone() throws IOException {
    zone = TestZoneServer.start(Map.of(
        "www.example.com", List.of("192.0.2.1", "192.0.2.2"),
        "denied.net", List.of("198.51.100.1"),
        "cdn.elsewhere.net", List.of("203.0.113.7"),
        "other.elsewhere.net", List.of("203.0.113.99"),
        "big.example.com", manyAddresses(60)));
    zone.cname("alias.example.com", "hop.example.com").cname("hop.example.com", "cdn.elsewhere.net");
    closing.add(zone);
    policy = new TestPolicy(List.of("*.example.com", "example.org"), Map.of("peer-1.kiln", List.of(ipv4("10.0.0.7"))));
  }

  @AfterEach
  void close() throws Exception {
    for (AutoCloseable c : closing.reversed()) c.close();
  }

  private DnsServer server(ClientDirectory clients, InetSocketAddress... upstreams) throws IOException {
    DnsServer s = DnsServer.start(LOOPBACK, List.of(upstreams), clients, FAST);
    closing.add(s);
    return s;
  }

  private DnsServer server() throws IOException {
    return server(source -> Optional.of(policy), zone.address());
  }

  @Test
  void allowedNameIsResolvedAndAdmittedBeforeTheReplyIsSent() throws Exception {
    CountDownLatch admitting = new CountDownLatch(1);
    CountDownLatch admitted = new CountDownLatch(1);
    policy.onResolved(r -> {
      admitting.countDown();
      await(admitted);
    });
    DnsServer dns = server();
    try (DatagramSocket client = new DatagramSocket()) {
      byte[] q = query(0x1234, "www.Example.com", A);
      client.send(new DatagramPacket(q, q.length, dns.address()));
      assertTrue(admitting.await(5, TimeUnit.SECONDS), "resolved() was called");
      client.setSoTimeout(300);
      assertThrows(SocketTimeoutException.class, () -> TestDnsClient.receive(client), "no reply while the firewall admits");
      admitted.countDown();
      client.setSoTimeout(5_000);
      Reply reply = TestDnsClient.receive(client);
      assertEquals(0x1234, reply.id(), "the client's ID, not ours");
      assertEquals(0, reply.rcode());
      assertEquals(List.of("192.0.2.1", "192.0.2.2"), reply.addresses());
    }
    assertEquals(List.of(new TestPolicy.Resolved("www.example.com", List.of(ipv4("192.0.2.1"), ipv4("192.0.2.2")),
        TestZoneServer.TTL_SECONDS)), policy.resolved);
  }

  @Test
  void deniedNameIsNxdomainAndNeverForwarded() throws Exception {
    DnsServer dns = server();
    Reply denied = udp(dns.address(), query(7, "denied.net", A));
    assertEquals(3, denied.rcode());
    assertEquals(List.of(), denied.addresses());
    assertEquals(3, udp(dns.address(), query(8, "example.com", A)).rcode(), "the wildcard does not cover its apex");
    assertEquals(0, udp(dns.address(), query(9, "www.example.com", A)).rcode());
    assertEquals(List.of("www.example.com"), zone.asked(), "only the allowed name went upstream");
    assertEquals(List.of("www.example.com"), policy.resolved.stream().map(TestPolicy.Resolved::name).toList());
    assertEquals(List.of("denied.net", "example.com"), policy.denied, "the policy hears of each name it denied (for the audit trail)");
  }

  @Test
  void unknownClientIsRefused() throws Exception {
    DnsServer dns = server(source -> Optional.empty(), zone.address());
    Reply reply = udp(dns.address(), query(1, "www.example.com", A));
    assertEquals(5, reply.rcode());
    assertEquals(1, reply.qdcount(), "the question is echoed");
    assertEquals(List.of(), zone.asked());
  }

  @Test
  void localNamesAreAnsweredHereEvenWithoutAnEgressRule() throws Exception {
    DnsServer dns = server();
    Reply a = udp(dns.address(), query(2, "PEER-1.kiln.", A));
    assertEquals(0, a.rcode());
    assertEquals(List.of("10.0.0.7"), a.addresses());
    assertEquals(List.of((long) Messages.LOCAL_TTL_SECONDS), a.ttls());
    Reply aaaa = udp(dns.address(), query(3, "peer-1.kiln", AAAA));
    assertEquals(0, aaaa.rcode());
    assertEquals(List.of(), aaaa.addresses());
    assertEquals(List.of(), zone.asked());
    assertEquals(List.of(), policy.resolved, "local answers need no admission");
  }

  @Test
  void aaaaOfAnAllowedNameIsEmptyWithoutForwarding() throws Exception {
    DnsServer dns = server();
    Reply reply = udp(dns.address(), query(4, "www.example.com", AAAA));
    assertEquals(0, reply.rcode());
    assertEquals(0, reply.raw()[7], "no answers");
    assertEquals(List.of(), zone.asked());
  }

  @Test
  void otherTypesOfAllowedNamesAreForwarded() throws Exception {
    DnsServer dns = server();
    assertEquals(0, udp(dns.address(), query(5, "www.example.com", TXT)).rcode());
    assertEquals(3, udp(dns.address(), query(6, "nothing.example.com", A)).rcode(), "upstream's NXDOMAIN is passed on");
    assertEquals(List.of("www.example.com", "nothing.example.com"), zone.asked());
    assertEquals(List.of(), policy.resolved, "no A records, nothing to admit");
  }

  @Test
  void cnameChainCollectsTheARecordsOfItsTargetOutsideThePatterns() throws Exception {
    DnsServer dns = server();
    Reply reply = udp(dns.address(), query(10, "alias.example.com", A));
    assertEquals(0, reply.rcode());
    assertEquals(List.of("203.0.113.7"), reply.addresses());
    assertEquals(List.of(new TestPolicy.Resolved("alias.example.com", List.of(ipv4("203.0.113.7")), TestZoneServer.TTL_SECONDS)),
        policy.resolved);
  }

  @Test
  void upstreamThatNeverAnswersIsServfailWithinItsTimeout() throws Exception {
    try (DatagramSocket blackHole = new DatagramSocket(LOOPBACK)) {
      DnsServer dns = server(source -> Optional.of(policy), (InetSocketAddress) blackHole.getLocalSocketAddress());
      long start = System.nanoTime();
      Reply reply = udp(dns.address(), query(11, "www.example.com", A));
      long millis = (System.nanoTime() - start) / 1_000_000;
      assertEquals(2, reply.rcode());
      assertTrue(millis >= 300 && millis < 2_000, "SERVFAIL after the 400 ms upstream timeout, took " + millis + " ms");
      assertEquals(List.of(), policy.resolved);
    }
  }

  @Test
  void nextUpstreamAnswersWhenTheFirstIsDown() throws Exception {
    InetSocketAddress closedPort;
    try (DatagramSocket gone = new DatagramSocket(LOOPBACK)) {
      closedPort = (InetSocketAddress) gone.getLocalSocketAddress();
    }
    DnsServer dns = server(source -> Optional.of(policy), closedPort, zone.address());
    Reply reply = udp(dns.address(), query(12, "www.example.com", A));
    assertEquals(List.of("192.0.2.1", "192.0.2.2"), reply.addresses());
  }

  @Test
  void oneSlowUpstreamDoesNotHoldUpOtherClients() throws Exception {
    try (DatagramSocket blackHole = new DatagramSocket(LOOPBACK)) {
      DnsServer dns = server(source -> Optional.of(policy), (InetSocketAddress) blackHole.getLocalSocketAddress());
      try (DatagramSocket slow = new DatagramSocket()) {
        byte[] q = query(13, "www.example.com", A);
        slow.send(new DatagramPacket(q, q.length, dns.address()));
        long start = System.nanoTime();
        assertEquals(3, udp(dns.address(), query(14, "denied.net", A)).rcode());
        assertTrue(System.nanoTime() - start < 300_000_000L, "answered while the other query waits upstream");
        assertEquals(2, TestDnsClient.receive(slow).rcode());
      }
    }
  }

  @Test
  void bigAnswerIsTruncatedOverUdpAndWholeOverTcp() throws Exception {
    DnsServer dns = server();
    Reply overUdp = udp(dns.address(), query(15, "big.example.com", A));
    assertTrue(overUdp.truncated(), "TC set");
    assertEquals(List.of(), overUdp.addresses());
    assertTrue(overUdp.raw().length <= 512);
    assertEquals(List.of(), policy.resolved, "nothing admitted for an answer the client never saw");

    Reply overTcp = tcp(dns.address(), query(16, "big.example.com", A));
    assertFalse(overTcp.truncated());
    assertEquals(16, overTcp.id());
    assertEquals(manyAddresses(60), overTcp.addresses());
    assertEquals(1, policy.resolved.size());
    assertEquals(60, policy.resolved.getFirst().addresses().size());
  }

  @Test
  void tcpServesSeveralQueriesOnOneConnection() throws Exception {
    DnsServer dns = server();
    try (Socket s = new Socket()) {
      s.connect(dns.address());
      s.setSoTimeout(5_000);
      var out = new java.io.DataOutputStream(s.getOutputStream());
      var in = new java.io.DataInputStream(s.getInputStream());
      for (int id = 1; id <= 3; id++) {
        byte[] q = query(id, id == 2 ? "denied.net" : "www.example.com", A);
        out.writeShort(q.length);
        out.write(q);
        out.flush();
        byte[] reply = new byte[in.readUnsignedShort()];
        in.readFully(reply);
        assertEquals(id, TestDnsClient.parse(reply).id());
        assertEquals(id == 2 ? 3 : 0, TestDnsClient.parse(reply).rcode());
      }
    }
  }

  @Test
  void tcpConnectionsAreBoundedPerClientAndIdleOnesClosed() throws Exception {
    DnsServer dns = server();
    try (Socket first = connect(dns); Socket second = connect(dns); Socket third = connect(dns)) {
      assertEquals(-1, read(third), "over the per-client limit of 2: closed at once");
      long start = System.nanoTime();
      assertEquals(-1, read(first), "idle past 500 ms: closed");
      assertTrue(System.nanoTime() - start < 3_000_000_000L);
      assertEquals(-1, read(second));
    }
    assertEquals(0, tcp(dns.address(), query(17, "www.example.com", A)).rcode(), "slots are given back");
  }

  @Test
  void admissionFailureIsServfail() throws Exception {
    policy.onResolved(r -> {
      throw new IllegalStateException("nft said no");
    });
    DnsServer dns = server();
    Reply reply = udp(dns.address(), query(18, "www.example.com", A));
    assertEquals(2, reply.rcode());
    assertEquals(List.of(), reply.addresses());
  }

  @Test
  void closeIsIdempotentAndFreesThePort() throws Exception {
    DnsServer dns = server();
    InetSocketAddress address = dns.address();
    assertEquals(address.getPort(), dns.address().getPort());
    dns.close();
    dns.close();
    // Retried: the port was an ephemeral one, and the resolver's own per-query upstream sockets
    // (of earlier tests' queries still finishing) may hold it for a moment.
    java.net.BindException last = null;
    for (int attempt = 0; attempt < 50; attempt++) {
      try (DatagramSocket again = new DatagramSocket(address)) {
        assertEquals(address.getPort(), again.getLocalPort());
        return;
      } catch (java.net.BindException e) {
        last = e;
        Thread.sleep(100);
      }
    }
    throw last;
  }

  private static Socket connect(DnsServer dns) throws IOException {
    Socket s = new Socket();
    s.connect(dns.address());
    s.setSoTimeout(5_000);
    return s;
  }

  private static int read(Socket s) throws IOException {
    InputStream in = s.getInputStream();
    return in.read();
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(5, TimeUnit.SECONDS)) throw new IllegalStateException("test never released the latch");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static List<String> manyAddresses(int n) {
    List<String> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) out.add("198.18.0." + i);
    return out;
  }

  static Inet4Address ipv4(String literal) {
    return (Inet4Address) InetAddress.ofLiteral(literal);
  }
}
