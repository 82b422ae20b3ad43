package dev.kiln.net;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Makes and removes the kernel objects of one slot: its namespace, the veth pair to the host, the
 * tap the VM attaches to, forwarding and the nftables table inside, the tc qdiscs. Through the
 * iproute2 and nft tools (their batch modes keep it to a few processes per namespace).
 */
final class Namespaces {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final Path NETNS_DIR = Path.of("/run/netns");
  private static final Path SYS_NET = Path.of("/sys/class/net");
  private final String tapGroup;

  /**
   * @param tapGroup the group every VM's QEMU is in: the tap is its group's, so an unprivileged
   *     QEMU can open it; only a process inside the namespace can name it, so one group for all is enough
   */
  Namespaces(String tapGroup) {
    this.tapGroup = tapGroup;
  }

  void create(Slot s, int dnsPort, Collection<Cidr> blocked, Collection<Cidr> hardBlocked) {
    batch(List.of("ip", "-b"), """
        netns add %1$s
        link add %2$s type veth peer name %3$s netns %1$s
        addr add %4$s/30 dev %2$s
        link set %2$s up
        """.formatted(s.netns(), s.hostVeth(), GuestAddressing.UPLINK, s.hostSide().getHostAddress()));
    batch(List.of("ip", "-n", s.netns(), "-b"), """
        link set lo up
        link set %1$s up
        addr add %2$s/30 dev %1$s
        route add default via %3$s
        tuntap add dev %4$s mode tap%5$s
        link set %4$s address %8$s
        addr add %6$s/%7$d dev %4$s
        link set %4$s up
        """.formatted(GuestAddressing.UPLINK, s.sandboxSide().getHostAddress(), s.hostSide().getHostAddress(), GuestAddressing.TAP,
        tapGroup.isEmpty() ? "" : " group " + tapGroup, GuestAddressing.GATEWAY, GuestAddressing.PREFIX, GuestAddressing.GATEWAY_MAC));
    applyBase(s, dnsPort, blocked, hardBlocked);
  }

  /**
   * Replaces the namespace's table (and sets its sysctls): at creation, and when a restarted daemon
   * adopts a namespace an older one made, so it runs under this daemon's rules. Forwarding is per
   * namespace and off in a new one. IPv6 is off: the policy is IPv4 (the guest has no IPv6 route),
   * and a guest must not reach the namespace's own link-local addresses.
   */
  void applyBase(Slot s, int dnsPort, Collection<Cidr> blocked, Collection<Cidr> hardBlocked) {
    String script = "table " + NftRuleset.TABLE + " {}\ndelete table " + NftRuleset.TABLE + "\n" + NftRuleset.base(s, dnsPort, blocked, hardBlocked);
    withScript(script, file -> CommandRunner.run(List.of("nsenter", "--net=" + s.netnsPath(), "sh", "-c",
        "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"
            + " && nft -f \"$1\"", "sh", file.toString()), TIMEOUT));
  }

  /** Applies an nft script in the host's own namespace, as one transaction. */
  static void nftOnHost(String script) {
    withScript(script, file -> CommandRunner.run(List.of("nft", "-f", file.toString()), TIMEOUT));
  }

  /** The packets the slot's namespace refused since its table was made (its sandbox's egress the policy does not allow); -1 if unknown. */
  long refusedPackets(Slot s) {
    List<String> argv = new java.util.ArrayList<>(List.of("nsenter", "--net=" + s.netnsPath(), "nft", "list", "counter"));
    argv.addAll(List.of(NftRuleset.TABLE.split(" "))); // family and name
    argv.add(NftRuleset.REFUSED_COUNTER);
    var r = CommandRunner.runAllowingFailure(argv, TIMEOUT);
    return r.exitCode() == 0 ? NftRuleset.refusedPackets(r.stdout()) : -1;
  }

  /** Applies an nft script inside the slot's namespace, as one transaction. */
  void nft(Slot s, String script) {
    withScript(script, file -> CommandRunner.run(List.of("nsenter", "--net=" + s.netnsPath(), "nft", "-f", file.toString()), TIMEOUT));
  }

  /**
   * Sets the token-bucket limits: egress on the namespace's uplink (what leaves the guest leaves
   * there), ingress on the tap (what reaches the guest is sent to it there). 0 = unlimited.
   */
  void bandwidth(Slot s, int egressMbit, int ingressMbit) {
    batch(List.of("tc", "-n", s.netns(), "-b"), qdisc(GuestAddressing.UPLINK, egressMbit) + qdisc(GuestAddressing.TAP, ingressMbit));
  }

  private static String qdisc(String dev, int mbit) {
    if (mbit == 0) return "qdisc replace dev " + dev + " root pfifo limit 1000\n";
    // A burst of 1/50 s of traffic (at least 32 KiB) keeps TCP near the rate without long bursts.
    long burst = Math.max(32 * 1024, mbit * 1_000_000L / 8 / 50);
    return "qdisc replace dev " + dev + " root tbf rate " + mbit + "mbit burst " + burst + " latency 100ms\n";
  }

  /** Removes the namespace and with it the veth pair and the tap; tolerates a half-made slot. */
  void destroy(Slot s) {
    // The veth first: deleting it removes both ends at once, while a deleted namespace lets go of
    // its devices only later, and the slot could be made again before that.
    if (Files.exists(SYS_NET.resolve(s.hostVeth()))) CommandRunner.runAllowingFailure(List.of("ip", "link", "del", s.hostVeth()), TIMEOUT);
    if (Files.exists(Path.of(s.netnsPath()))) CommandRunner.runAllowingFailure(List.of("ip", "netns", "del", s.netns()), TIMEOUT);
  }

  /** Names of the namespaces and host interfaces present now (the crash sweep compares them with the database). */
  static List<String> existingNamespaces() {
    return names(NETNS_DIR);
  }

  static List<String> existingInterfaces() {
    return names(SYS_NET);
  }

  private static List<String> names(Path dir) {
    List<String> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) return out;
    try (var s = Files.list(dir)) {
      s.forEach(p -> out.add(p.getFileName().toString()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  private static void batch(List<String> command, String lines) {
    withScript(lines, file -> {
      List<String> argv = new ArrayList<>(command);
      argv.add(file.toString());
      CommandRunner.run(argv, TIMEOUT);
    });
  }

  private interface ScriptUse {
    void run(Path file);
  }

  private static void withScript(String text, ScriptUse use) {
    Path f = null;
    try {
      f = Files.createTempFile("kiln-net", ".txt");
      Files.writeString(f, text, StandardCharsets.UTF_8);
      use.run(f);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      if (f != null) {
        try {
          Files.deleteIfExists(f);
        } catch (IOException ignored) {
          // a temp file left in /tmp is harmless
        }
      }
    }
  }
}
