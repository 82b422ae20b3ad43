package dev.kiln.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class HostFirewallTest {
  private final HostFirewall fw = new HostFirewall(new AddressPlan(Cidr.parse("10.200.0.0/16"), "kiln"));

  @Test
  void theInstalledTableOpensTheResolverToVethsOnly() {
    String r = fw.rules(OptionalInt.of(7753));
    assertTrue(r.contains("    iifname \"kilnv*\" meta l4proto { tcp, udp } th dport 7753 accept\n    iifname \"kilnv*\" drop\n"), r);
    assertTrue(r.contains("    meta l4proto { tcp, udp } th dport 7753 iifname != \"lo\" drop\n  }\n"), r);
  }

  @Test
  void theParkedTableKeepsNatAndGuardsButNothingOfTheResolver() {
    String r = fw.rules(OptionalInt.empty());
    assertFalse(r.contains("dport"), "no resolver runs while the daemon is stopped: " + r);
    assertTrue(r.contains("ip saddr 10.200.0.0/16 oifname != \"kilnv*\" masquerade"), r);
    assertTrue(r.contains("    iifname \"kilnv*\" ct state established,related accept\n    iifname \"kilnv*\" drop\n  }\n}\n"), r);
    assertEquals(fw.rules(OptionalInt.of(1)).lines().count() - 2, r.lines().count());
  }

  @Test
  void anotherDaemonsTableThatGuardsThePoolIsFoundFromWhatNftLists() {
    String tables = "table ip kiln_host\ntable ip kpd_host\ntable inet filter\ntable ip other\n";
    assertEquals(java.util.List.of("kpd_host"), HostFirewall.otherHostTables(tables, "kiln_host"));
    // What nft prints of the table another daemon installed.
    String theirs = new HostFirewall(new AddressPlan(Cidr.parse("10.200.0.0/16"), "kpd")).rules(OptionalInt.of(7931)).replace("\n        ", "\n");
    assertTrue(HostFirewall.guardsPool(theirs, Cidr.parse("10.200.0.0/16")), theirs);
    assertFalse(HostFirewall.guardsPool(theirs, Cidr.parse("10.201.0.0/16")));
    assertFalse(HostFirewall.guardsPool(theirs, Cidr.parse("10.200.0.0/24")), "another pool that shares a prefix of its text");
  }
}
