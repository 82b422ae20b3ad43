package dev.kiln.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EgressPolicyTest {
  @Test
  void cidrsParseValidateAndContain() throws Exception {
    Cidr c = Cidr.parse("203.0.113.0/24");
    assertTrue(c.contains((Inet4Address) InetAddress.getByName("203.0.113.77")));
    assertFalse(c.contains((Inet4Address) InetAddress.getByName("203.0.114.1")));
    assertEquals("198.51.100.7/32", Cidr.parse("198.51.100.7").toString());
    assertTrue(Cidr.parse("10.0.0.0/8").overlaps(Cidr.parse("10.200.0.0/16")));
    for (String bad : List.of("10.0.0.1/8", "256.1.1.1", "1.2.3.4/33", "1.2.3", "", "a.b.c.d/8")) {
      assertThrows(IllegalArgumentException.class, () -> Cidr.parse(bad), bad);
    }
  }

  @Test
  void entriesSplitIntoCidrsAndDomains() {
    EgressPolicy p = EgressPolicy.parse(List.of("203.0.113.0/24", "example.com", "*.example.org"), List.of("evil.example.com", "203.0.113.9"));
    assertEquals(1, p.allowCidrs().size());
    assertEquals(2, p.allowDomains().size());
    assertTrue(p.allowListed());
    assertTrue(p.resolves("files.example.org"));
    assertFalse(p.resolves("example.org"), "a wildcard does not match its apex");
    assertFalse(p.resolves("evil.example.com"), "the deny list wins");
    assertFalse(p.resolves("other.org"), "with domain entries, only they resolve");
    assertTrue(p.admitsResolved("example.com"));
    assertEquals(List.of("203.0.113.0/24", "example.com", "*.example.org"), p.allowOut());
  }

  @Test
  void aClosedSandboxGetsNoRecursiveResolution() {
    EgressPolicy cidrsOnly = EgressPolicy.parse(List.of("203.0.113.0/24"), List.of());
    assertFalse(cidrsOnly.resolves("anything.org"), "DNS would carry data out of a sandbox that may reach only some CIDRs");
    assertFalse(cidrsOnly.admitsResolved("anything.org"));
    assertFalse(EgressPolicy.parse(List.of(), List.of("0.0.0.0/0")).resolves("anything.org"));
    assertTrue(EgressPolicy.parse(List.of(), List.of("203.0.113.0/24")).resolves("anything.org"));
  }

  @Test
  void badEntriesAndTooManyAreRejectedNamingTheField() {
    var e = assertThrows(IllegalArgumentException.class, () -> EgressPolicy.parse(List.of("exa mple.com"), List.of()));
    assertTrue(e.getMessage().startsWith("allowOut"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> EgressPolicy.parse(List.of(), List.of("10.0.0.1/8")));
    assertThrows(IllegalArgumentException.class, () -> EgressPolicy.parse(Collections.nCopies(257, "example.com"), List.of()));
  }

  @Test
  void modeNoneTakesNoRules() {
    assertThrows(IllegalArgumentException.class, () -> new NetworkSpec(NetworkMode.NONE, EgressPolicy.OPEN, Optional.of("g"), false, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.OPEN, Optional.of("Bad Group"), false, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.OPEN, Optional.empty(), false, -1, 0));
  }

  @Test
  void theRulesetClosesEgressUntilAPolicyOpensIt() {
    AddressPlan plan = new AddressPlan(Cidr.parse("10.200.0.0/16"), "kiln");
    Slot s = plan.slot(3);
    assertEquals("kiln-3", s.netns());
    assertEquals("10.200.0.13", s.hostSide().getHostAddress());
    assertEquals("10.200.0.14", s.sandboxSide().getHostAddress());
    assertEquals(3, plan.indexOfNetns("kiln-3"));
    assertEquals(-1, plan.indexOfNetns("other-3"));
    String base = NftRuleset.base(s, 7753, NftRuleset.SPECIAL, NftRuleset.ALWAYS_BLOCKED);
    assertTrue(base.indexOf("@hard_blocked") < base.indexOf("@allow_cidr accept"), "no allow list opens the metadata service");
    assertTrue(base.indexOf("@blocked jump refuse") < base.indexOf("@resolved accept"), "a resolver answer cannot open a private address");
    assertTrue(base.contains("dnat to 10.200.0.13:7753"), "DNS goes to the host end of this namespace's own veth");
    assertTrue(base.contains("chain egress_default {\n    jump refuse"), base);
    assertTrue(base.contains("chain refuse {\n    counter name \"refused\"\n"), "every refused packet is counted first: " + base);
    assertEquals(12, NftRuleset.refusedPackets("table ip kiln {\n\tcounter refused {\n\t\tpackets 12 bytes 720\n\t}\n}\n"));
    assertEquals(-1, NftRuleset.refusedPackets("Error: No such file or directory"));
    assertTrue(NftRuleset.policy(NetworkSpec.INTERNET).contains("egress_default accept"));
    NetworkSpec listed = new NetworkSpec(NetworkMode.INTERNET, EgressPolicy.parse(List.of("example.com"), List.of()), Optional.empty(), false, 0, 0);
    assertTrue(NftRuleset.policy(listed).contains("egress_default jump refuse"), "an allow list closes the default");
  }
}
