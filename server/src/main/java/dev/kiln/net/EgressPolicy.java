package dev.kiln.net;

import dev.kiln.net.dns.DomainPattern;
import java.util.ArrayList;
import java.util.List;

/**
 * Where a sandbox may connect. An empty allow list means anywhere public; a non-empty one means
 * only there. The deny list wins over the allow list. Entries are CIDRs ("203.0.113.0/24", a bare
 * address) or domain names ("example.com", "*.example.com"): a domain entry is enforced by the
 * daemon's resolver, which admits the addresses it answers for an allowed name to the firewall.
 * Private, link-local and the host's own addresses are denied unless a CIDR entry allows them.
 */
public record EgressPolicy(List<Cidr> allowCidrs, List<DomainPattern> allowDomains, List<Cidr> denyCidrs, List<DomainPattern> denyDomains) {
  /** Bounds the nft sets and the resolver's work per query. */
  public static final int MAX_ENTRIES = 256;
  public static final EgressPolicy OPEN = new EgressPolicy(List.of(), List.of(), List.of(), List.of());

  public EgressPolicy {
    allowCidrs = List.copyOf(allowCidrs);
    allowDomains = List.copyOf(allowDomains);
    denyCidrs = List.copyOf(denyCidrs);
    denyDomains = List.copyOf(denyDomains);
  }

  /** Parses the API's lists; each entry is a CIDR if it looks like one, else a domain pattern. */
  public static EgressPolicy parse(List<String> allowOut, List<String> denyOut) {
    List<Cidr> ac = new ArrayList<>();
    List<DomainPattern> ad = new ArrayList<>();
    List<Cidr> dc = new ArrayList<>();
    List<DomainPattern> dd = new ArrayList<>();
    split("allowOut", allowOut, ac, ad);
    split("denyOut", denyOut, dc, dd);
    return new EgressPolicy(ac, ad, dc, dd);
  }

  private static void split(String field, List<String> entries, List<Cidr> cidrs, List<DomainPattern> domains) {
    if (entries == null) return;
    if (entries.size() > MAX_ENTRIES) throw new IllegalArgumentException(field + " has " + entries.size() + " entries; at most " + MAX_ENTRIES);
    for (String e : entries) {
      if (e == null || e.isBlank()) throw new IllegalArgumentException(field + " has an empty entry");
      try {
        if (Cidr.looksLike(e.strip()) || e.contains("/")) cidrs.add(Cidr.parse(e));
        else domains.add(DomainPattern.parse(e));
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException(field + ": " + ex.getMessage(), ex);
      }
    }
  }

  /** An allow list is in force: what it does not name is blocked. */
  public boolean allowListed() {
    return !allowCidrs.isEmpty() || !allowDomains.isEmpty();
  }

  /**
   * Whether the resolver answers this name: a name on the allow list; with no allow list, any name
   * not denied, unless the deny list covers everything. A sandbox closed to the world gets no
   * recursive resolution either, since DNS itself carries data out (to a name server its owner runs).
   */
  public boolean resolves(String name) {
    if (denyDomains.stream().anyMatch(d -> d.matches(name))) return false;
    if (allowListed()) return allowDomains.stream().anyMatch(d -> d.matches(name));
    return denyCidrs.stream().noneMatch(c -> c.prefix() == 0);
  }

  /** Whether the addresses a name resolved to are admitted to the firewall (only for allow-listed names). */
  public boolean admitsResolved(String name) {
    return allowDomains.stream().anyMatch(d -> d.matches(name)) && denyDomains.stream().noneMatch(d -> d.matches(name));
  }

  public List<String> allowOut() {
    List<String> out = new ArrayList<>();
    allowCidrs.forEach(c -> out.add(c.toString()));
    allowDomains.forEach(d -> out.add(d.pattern()));
    return out;
  }

  public List<String> denyOut() {
    List<String> out = new ArrayList<>();
    denyCidrs.forEach(c -> out.add(c.toString()));
    denyDomains.forEach(d -> out.add(d.pattern()));
    return out;
  }
}
