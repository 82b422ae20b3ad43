package dev.kiln.net;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;

/**
 * The host's half of sandbox networking, one nft table per daemon: NAT of the address pool out of
 * every interface that is not a sandbox veth, and an input guard: from sandbox veths the host
 * accepts only the daemon's resolver port and replies to connections it opened (the port proxy,
 * forwards). So even a sandbox whose allow list names a host address cannot reach the API. A
 * packet from the pool's addresses that did not come in on a sandbox veth is spoofed (a machine on
 * the LAN posing as a group peer) and dropped. The daemon removes the table when it stops, or
 * parks it (no resolver rules) while sandbox networks outlive it.
 */
final class HostFirewall {
  private static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");
  private final AddressPlan plan;
  private final String table;

  HostFirewall(AddressPlan plan) {
    this.plan = plan;
    this.table = "ip " + plan.prefix() + "_host";
  }

  /**
   * Refuses a pool another daemon's host table (another prefix) guards: its rule "nothing from
   * the pool but from its own veths" would drop every packet of this daemon's sandboxes, and this
   * daemon's rule the other's. Two daemons on one host, or a table a crashed daemon left with an
   * old prefix, would otherwise break both silently.
   */
  void refuseSharedPool() throws IOException {
    String listing = CommandRunner.runAllowingFailure(List.of("nft", "list", "tables"), Duration.ofSeconds(30)).stdout();
    for (String other : otherHostTables(listing, plan.prefix() + "_host")) {
      String rules = CommandRunner.runAllowingFailure(List.of("nft", "list", "table", "ip", other), Duration.ofSeconds(30)).stdout();
      if (guardsPool(rules, plan.pool())) {
        throw new IOException("network.addressPool " + plan.pool() + " is already guarded by the host firewall table 'ip " + other
            + "' (another Kiln daemon's, with network.prefix '" + other.substring(0, other.length() - "_host".length()) + "'): its sandboxes and this "
            + "daemon's would drop each other's packets. Give each daemon on a host its own addressPool, or, if no daemon uses that table any more, "
            + "remove it: nft delete table ip " + other);
      }
    }
  }

  /** The Kiln host tables in {@code nft list tables} output other than {@code ours}. */
  static List<String> otherHostTables(String listing, String ours) {
    return listing.lines().map(String::strip).filter(l -> l.startsWith("table ip ") && l.endsWith("_host")).map(l -> l.substring("table ip ".length()))
        .filter(t -> !t.equals(ours)).toList();
  }

  /** Whether a host table's rules guard this pool (its rules name the pool as a source). */
  static boolean guardsPool(String rules, Cidr pool) {
    return rules.contains("ip saddr " + pool + " ");
  }

  /** Installs (or replaces) the table, with the resolver's port open to sandbox veths and closed to everyone else. */
  void install(int dnsPort) throws IOException {
    if (!"1".equals(Files.readString(IP_FORWARD).strip())) {
      Files.writeString(IP_FORWARD, "1");
      org.slf4j.LoggerFactory.getLogger(HostFirewall.class).info("enabled IPv4 forwarding on the host (net.ipv4.ip_forward=1) for sandbox NAT");
    }
    Namespaces.nftOnHost(rules(OptionalInt.of(dnsPort)));
  }

  /**
   * Replaces the table with what sandbox networks that outlive the daemon still need: their NAT
   * and the guards (nothing spoofed from the pool, nothing from a veth but replies). The resolver's
   * rules go with the resolver; the next daemon installs the whole table again.
   */
  void park() {
    Namespaces.nftOnHost(rules(OptionalInt.empty()));
  }

  /** Removes the table (nothing if it is not there): the daemon leaves nothing on the host. */
  void remove() {
    String[] t = table.split(" ");
    CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", t[0], t[1]), Duration.ofSeconds(30));
  }

  String rules(OptionalInt dnsPort) {
    String veths = plan.vethPattern();
    String resolver = dnsPort.isEmpty() ? "" : """
            iifname "%1$s" meta l4proto { tcp, udp } th dport %2$d accept
        """.formatted(veths, dnsPort.getAsInt());
    String resolverLan = dnsPort.isEmpty() ? "" : """
            meta l4proto { tcp, udp } th dport %1$d iifname != "lo" drop
        """.formatted(dnsPort.getAsInt());
    return """
        table %1$s {}
        delete table %1$s
        table %1$s {
          chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            ip saddr %2$s oifname != "%3$s" masquerade
          }
          chain forward {
            type filter hook forward priority filter; policy accept;
            ip saddr %2$s iifname != "%3$s" drop
          }
          chain input {
            type filter hook input priority filter; policy accept;
            ip saddr %2$s iifname != "%3$s" drop
            iifname "%3$s" ct state established,related accept
        %4$s    iifname "%3$s" drop
        %5$s  }
        }
        """.formatted(table, plan.pool(), veths, resolver, resolverLan);
  }
}
