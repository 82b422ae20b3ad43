package dev.kiln.net;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The host's half of sandbox networking, one nft table per daemon: NAT of the address pool out of
 * every interface that is not a sandbox veth, and an input guard: from sandbox veths the host
 * accepts only the daemon's resolver port and replies to connections it opened (the port proxy,
 * forwards). So even a sandbox whose allow list names a host address cannot reach the API. A
 * packet from the pool's addresses that did not come in on a sandbox veth is spoofed (a machine on
 * the LAN posing as a group peer) and dropped.
 */
final class HostFirewall {
  private static final Path IP_FORWARD = Path.of("/proc/sys/net/ipv4/ip_forward");
  private final AddressPlan plan;
  private final String table;

  HostFirewall(AddressPlan plan) {
    this.plan = plan;
    this.table = "ip " + plan.prefix() + "_host";
  }

  void install(int dnsPort) throws IOException {
    if (!"1".equals(Files.readString(IP_FORWARD).strip())) {
      Files.writeString(IP_FORWARD, "1");
      org.slf4j.LoggerFactory.getLogger(HostFirewall.class).info("enabled IPv4 forwarding on the host (net.ipv4.ip_forward=1) for sandbox NAT");
    }
    String veths = plan.vethPattern();
    String rules = """
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
            iifname "%3$s" meta l4proto { tcp, udp } th dport %4$d accept
            iifname "%3$s" drop
            meta l4proto { tcp, udp } th dport %4$d iifname != "lo" drop
          }
        }
        """.formatted(table, plan.pool(), veths, dnsPort);
    Namespaces.nftOnHost(rules);
  }
}
