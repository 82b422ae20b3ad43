package dev.kiln.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.config.NetworkConfig;
import dev.kiln.host.CommandRunner;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Real namespaces, veths, taps and nft tables, without VMs: what attach, policy changes and release leave in the kernel. */
class NetworkServiceTest {
  /** The network's record of what guests tried: this test checks namespaces, not that record. */
  private static final EgressDenials IGNORED = new EgressDenials() {
    @Override
    public void denied(String sandboxId, String name) {}

    @Override
    public void refused(String sandboxId, long packets) {}
  };

  /**
   * Per test JVM: this class runs in the unit suite, and two checkouts on one machine may run it at
   * once. Each gets its own names, address pool and DNS port.
   */
  private static final java.util.Random RUN = new java.security.SecureRandom();
  private static final String PREFIX = "ku" + Integer.toString(36 * 36 + RUN.nextInt(36 * 35), 36).substring(1);
  private static final String POOL = "10.232." + RUN.nextInt(256) + ".0/24";
  private static final int DNS_PORT = freePort();

  private static int freePort() {
    try (java.net.DatagramSocket s = new java.net.DatagramSocket(0)) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
  private NetworkService net;

  @BeforeEach
  void start() throws Exception {
    Optional<String> why = NetworkService.unavailableReason();
    if (why.isPresent()) System.out.println("NetworkServiceTest skipped: " + why.get());
    assumeTrue(why.isEmpty(), () -> why.orElse(""));
    NetworkConfig c = NetworkConfig.DEFAULT.with(true, POOL, PREFIX, DNS_PORT, "127.0.0.1:0", List.of("127.0.0.1:1"));
    net = NetworkService.start(c, "", Set.of(), IGNORED);
  }

  @AfterEach
  void stop() {
    if (net != null) net.close();
    for (String ns : Namespaces.existingNamespaces()) {
      if (ns.startsWith(PREFIX + "-")) CommandRunner.runAllowingFailure(List.of("ip", "netns", "del", ns), Duration.ofSeconds(10));
    }
    CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", PREFIX + "_host"), Duration.ofSeconds(10));
  }

  private static String inNs(Slot s, String... argv) {
    List<String> a = new java.util.ArrayList<>(List.of("nsenter", "--net=" + s.netnsPath()));
    a.addAll(List.of(argv));
    return CommandRunner.run(a, Duration.ofSeconds(10)).stdout();
  }

  private static long ours() {
    return Namespaces.existingNamespaces().stream().filter(n -> n.startsWith(PREFIX + "-")).count()
        + Namespaces.existingInterfaces().stream().filter(n -> n.startsWith(PREFIX + "v")).count();
  }

  @Test
  void attachAppliesPolicyAndReleaseRemovesEverything() {
    NetworkSpec spec = new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.parse(List.of("203.0.113.0/24", "example.com"), List.of("203.0.113.7")),
        Optional.of("g"), false, 10, 20);
    Attachment a = net.attach("sb-one", spec, Optional.of("tok"));
    Slot s = a.slot();
    String rules = inNs(s, "nft", "list", "table", "ip", "kiln");
    assertTrue(rules.contains("203.0.113.0/24"), rules);
    assertTrue(rules.contains("203.0.113.7"), rules);
    assertTrue(rules.contains("169.254.0.0/16"), "link-local is blocked: " + rules);
    String links = inNs(s, "ip", "-br", "link");
    assertTrue(links.contains("tap0") && links.contains("eth0"), links);
    assertTrue(inNs(s, "tc", "qdisc", "show", "dev", "eth0").contains("rate 10Mbit"));
    assertTrue(inNs(s, "tc", "qdisc", "show", "dev", "tap0").contains("rate 20Mbit"));
    assertEquals("1", inNs(s, "cat", "/proc/sys/net/ipv4/ip_forward").strip());

    net.update("sb-one", spec.withRules(EgressPolicy.OPEN, 0, 0));
    rules = inNs(s, "nft", "list", "chain", "ip", "kiln", "egress_default");
    assertTrue(rules.contains("accept"), "open internet after the change: " + rules);
    assertFalse(inNs(s, "tc", "qdisc", "show", "dev", "eth0").contains("tbf"));

    net.release("sb-one");
    assertFalse(Namespaces.existingNamespaces().contains(s.netns()));
    assertFalse(Namespaces.existingInterfaces().contains(s.hostVeth()));
  }

  @Test
  void groupMembersGetEachOthersAddresses() {
    NetworkSpec g = new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.OPEN, Optional.of("db"), false, 0, 0);
    Attachment a = net.attach("sb-a", g, Optional.empty());
    Attachment b = net.attach("sb-b", g, Optional.empty());
    Attachment c = net.attach("sb-c", NetworkSpec.INTERNET, Optional.empty());
    String peersOfA = inNs(a.slot(), "nft", "list", "set", "ip", "kiln", "peers");
    assertTrue(peersOfA.contains(b.slot().sandboxSide().getHostAddress()), peersOfA);
    assertFalse(peersOfA.contains(c.slot().sandboxSide().getHostAddress()), peersOfA);
    net.release("sb-b");
    assertFalse(inNs(a.slot(), "nft", "list", "set", "ip", "kiln", "peers").contains(b.slot().sandboxSide().getHostAddress()));
    net.release("sb-a");
    net.release("sb-c");
  }

  @Test
  void twentyCyclesLeaveNothingBehindAndFreedSlotsAreReusedLast() {
    int previous = -1;
    for (int i = 0; i < 20; i++) {
      Attachment a = net.attach("sb-cycle", NetworkSpec.INTERNET, Optional.empty());
      assertTrue(a.slot().index() != previous, "the slot just freed is not handed out again at once");
      previous = a.slot().index();
      net.release("sb-cycle");
    }
    // The refiller may be halfway through a spare (namespace made, veth not yet): wait for it.
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> ours() == 2 * 2);
    assertEquals(2 * 2, ours(), "only the spare namespaces remain (network.prewarmed = 2, each a namespace and a veth)");
  }

  @Test
  void aRestartSweepsNamespacesNoSandboxHolds() throws Exception {
    Attachment kept = net.attach("sb-kept", NetworkSpec.INTERNET, Optional.empty());
    Attachment lost = net.attach("sb-lost", NetworkSpec.INTERNET, Optional.empty());
    net.close(); // a daemon that stops leaves its sandboxes' namespaces
    // No spares this time: one made at once could take the swept slot's name again.
    NetworkConfig c = new NetworkConfig(true, POOL, PREFIX, 0, DNS_PORT, List.of("127.0.0.1:1"), "127.0.0.1:0", null, null, null);
    net = NetworkService.start(c, "", Set.of(kept.slot().index()), IGNORED);
    assertTrue(Namespaces.existingNamespaces().contains(kept.slot().netns()));
    assertFalse(Namespaces.existingNamespaces().contains(lost.slot().netns()));
    net.adopt("sb-kept", kept.slot().index(), NetworkSpec.INTERNET, Optional.empty());
    net.release("sb-kept");
  }

  private static CommandRunner.Result hostTable() {
    return CommandRunner.runAllowingFailure(List.of("nft", "list", "table", "ip", PREFIX + "_host"), Duration.ofSeconds(10));
  }

  @Test
  void stoppingTakesTheHostTableAwayOrKeepsOnlyWhatSandboxesThatOutliveItNeed() throws Exception {
    assertTrue(hostTable().stdout().contains("th dport " + DNS_PORT), hostTable().stdout());
    Attachment outlives = net.attach("sb-outlives", NetworkSpec.INTERNET, Optional.empty());
    net.close();
    String parked = hostTable().stdout();
    assertTrue(parked.contains("masquerade") && parked.contains("ct state established,related accept"), "its NAT and guards stay: " + parked);
    assertFalse(parked.contains("dport"), "the resolver's rules go with the resolver: " + parked);
    NetworkConfig c = new NetworkConfig(true, POOL, PREFIX, 0, DNS_PORT, List.of("127.0.0.1:1"), "127.0.0.1:0", null, null, null);
    net = NetworkService.start(c, "", Set.of(outlives.slot().index()), IGNORED);
    assertTrue(hostTable().stdout().contains("th dport " + DNS_PORT), "the next start installs the whole table again");
    net.adopt("sb-outlives", outlives.slot().index(), NetworkSpec.INTERNET, Optional.empty());
    net.release("sb-outlives");
    net.close();
    assertTrue(hostTable().exitCode() != 0, "with no sandbox network left, nothing of the daemon stays: " + hostTable().stdout());
    assertEquals(0, ours(), "no namespace, no veth");
  }
}
