package dev.kiln.net;

import java.net.Inet4Address;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The nftables text for one sandbox namespace (table {@code ip kiln}). Pure, so it is unit-tested.
 *
 * <p>The guest can touch none of it: the rules live in the namespace around the VM, not in the
 * guest. Order in {@code egress} is the policy: DNS to the daemon, group peers, the deny list, the
 * ranges no allow list opens (metadata, loopback, the pool, the host), the allow list's CIDRs, then
 * the other special ranges (private networks: an allow-list CIDR can open those), then addresses the resolver admitted, then
 * the default (open for internet mode without an allow list, closed otherwise). Only QEMU runs in
 * the namespace, and nothing it sends itself may leave through the uplink ({@code output}): a QEMU
 * taken over by its guest would otherwise skip the egress chain. Blocked ranges come
 * before resolver answers so that an allowed name pointing at 169.254.169.254, a private range or
 * the host (DNS rebinding) opens nothing; only an explicit CIDR on the allow list can.
 */
final class NftRuleset {
  static final String TABLE = "ip kiln";
  /** Admitted resolver answers live at least this long: a client may connect well after a short TTL. */
  static final int MIN_RESOLVED_SECONDS = 60;
  /** And at most this long, so a hostile zone cannot pin an address for years. */
  static final int MAX_RESOLVED_SECONDS = 3600;
  /** Bounds the admitted addresses per sandbox (a zone can answer many records per name). */
  static final int MAX_RESOLVED = 4096;
  /** Never reachable, whatever the allow list says: the metadata service, loopback, this daemon's pool. */
  static final List<Cidr> ALWAYS_BLOCKED = List.of("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4").stream()
      .map(Cidr::parse).toList();
  /** Special-purpose IPv4 ranges a sandbox never reaches unless its allow list names them (RFC 6890). */
  static final List<Cidr> SPECIAL = List.of("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
      "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4").stream().map(Cidr::parse).toList();

  private NftRuleset() {}

  /** The namespace's table at creation: every set empty, egress closed until a policy is applied. */
  static String base(Slot slot, int dnsPort, Collection<Cidr> blocked, Collection<Cidr> hardBlocked) {
    String host = slot.hostSide().getHostAddress();
    String self = slot.sandboxSide().getHostAddress();
    String guest = GuestAddressing.GUEST;
    String tap = GuestAddressing.TAP;
    String up = GuestAddressing.UPLINK;
    return """
        table %1$s {
          set hard_blocked { type ipv4_addr; flags interval; auto-merge; elements = { %11$s } }
          set blocked { type ipv4_addr; flags interval; auto-merge; elements = { %2$s } }
          set allow_cidr { type ipv4_addr; flags interval; auto-merge; }
          set deny_cidr { type ipv4_addr; flags interval; auto-merge; }
          set resolved { type ipv4_addr; size %12$d; flags timeout; }
          set peers { type ipv4_addr; }
          counter %13$s { }
          chain prerouting {
            type nat hook prerouting priority dstnat; policy accept;
            iifname "%3$s" ip daddr %4$s meta l4proto { tcp, udp } th dport 53 dnat to %5$s:%6$d
            iifname "%7$s" ip daddr %8$s dnat to %9$s
          }
          chain postrouting {
            type nat hook postrouting priority srcnat; policy accept;
            oifname "%7$s" masquerade
          }
          chain forward {
            type filter hook forward priority filter; policy drop;
            ct state established,related accept
            ct state invalid drop
            iifname "%3$s" oifname "%7$s" ip saddr %9$s jump egress
            iifname "%7$s" oifname "%3$s" jump ingress
          }
          chain egress {
            ip daddr %5$s meta l4proto { tcp, udp } th dport %6$d accept
            ip daddr @peers accept
            ip daddr @deny_cidr jump refuse
            ip daddr @hard_blocked jump refuse
            ip daddr @allow_cidr accept
            ip daddr @blocked jump refuse
            ip daddr @resolved accept
            jump egress_default
          }
          chain egress_default {
            jump refuse
          }
          chain refuse {
            counter name "%13$s"
            meta l4proto tcp reject with tcp reset
            reject with icmp type admin-prohibited
          }
          chain ingress {
            ip saddr %10$s accept
            ip saddr @peers accept
            drop
          }
          chain input {
            type filter hook input priority filter; policy accept;
            iifname "%3$s" drop
          }
          chain output {
            type filter hook output priority filter; policy accept;
            oifname "%7$s" drop
          }
        }
        """.formatted(TABLE, elements(blocked), tap, GuestAddressing.GATEWAY, host, dnsPort, up, self, guest, host, elements(hardBlocked), MAX_RESOLVED,
        REFUSED_COUNTER);
  }

  /** The counter of the packets the namespace refused (a sandbox's egress its policy does not allow), as {@code nft list} shows it. */
  static final String REFUSED_COUNTER = "refused";

  /** The packets of {@code nft list counter … refused}'s output, or -1 if it shows none. */
  static long refusedPackets(String listed) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("packets (\\d{1,18}) ").matcher(listed);
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** Replaces the runtime-changeable rules: the allow and deny CIDRs and the egress default. */
  static String policy(NetworkSpec spec) {
    EgressPolicy e = spec.egress();
    boolean open = spec.mode() == NetworkMode.INTERNET && !e.allowListed();
    StringBuilder b = new StringBuilder();
    b.append("flush set ").append(TABLE).append(" allow_cidr\n");
    b.append("flush set ").append(TABLE).append(" deny_cidr\n");
    b.append("flush set ").append(TABLE).append(" resolved\n");
    if (!e.allowCidrs().isEmpty()) b.append("add element ").append(TABLE).append(" allow_cidr { ").append(elements(e.allowCidrs())).append(" }\n");
    if (!e.denyCidrs().isEmpty()) b.append("add element ").append(TABLE).append(" deny_cidr { ").append(elements(e.denyCidrs())).append(" }\n");
    b.append("flush chain ").append(TABLE).append(" egress_default\n");
    b.append("add rule ").append(TABLE).append(" egress_default ").append(open ? "accept" : "jump refuse").append('\n');
    return b.toString();
  }

  /** Replaces the group peers a sandbox may reach and be reached from. */
  static String peers(Collection<Inet4Address> peers) {
    String flush = "flush set " + TABLE + " peers\n";
    if (peers.isEmpty()) return flush;
    return flush + "add element " + TABLE + " peers { " + peers.stream().map(Inet4Address::getHostAddress).sorted().collect(Collectors.joining(", ")) + " }\n";
  }

  /** Admits addresses an allowed name resolved to for {@code ttl} seconds; re-adding one refreshes its timeout. */
  static String resolved(Collection<Inet4Address> addresses, int ttl) {
    StringBuilder b = new StringBuilder();
    for (Inet4Address a : addresses) {
      // delete-then-add: "add" keeps an existing element's old timeout
      b.append("add element ").append(TABLE).append(" resolved { ").append(a.getHostAddress()).append(" timeout 1s }\n");
      b.append("delete element ").append(TABLE).append(" resolved { ").append(a.getHostAddress()).append(" }\n");
      b.append("add element ").append(TABLE).append(" resolved { ").append(a.getHostAddress()).append(" timeout ").append(ttl).append("s }\n");
    }
    return b.toString();
  }

  private static String elements(Collection<Cidr> cidrs) {
    return cidrs.stream().map(Cidr::toString).collect(Collectors.joining(", "));
  }
}
