package dev.kiln.net.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The A records of an upstream answer that belong to the question: those owned by the question's
 * name or by a name its CNAME chain leads to. A records for other names are ignored, so an
 * upstream cannot get arbitrary addresses admitted by listing them.
 *
 * @param minTtlSeconds the smallest TTL among the chain's records, at least 1
 */
record Answers(List<Inet4Address> addresses, int minTtlSeconds) {
  /** Real chains are a handful of links; longer ones are treated as broken rather than followed. */
  private static final int MAX_CHAIN = 16;

  Answers {
    addresses = List.copyOf(addresses);
    if (minTtlSeconds < 1) throw new IllegalArgumentException("TTL " + minTtlSeconds + ", expected >= 1");
  }

  private record Rr(String owner, int type, long ttl, String target, Inet4Address address) {}

  /** Reads {@code count} records at the cursor (the answer section). */
  static Answers read(WireReader r, int count, DnsName qname) throws DnsFormatException {
    List<Rr> records = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Rr rr = record(r);
      if (rr != null) records.add(rr);
    }
    Set<String> chain = new HashSet<>(Set.of(qname.text()));
    long minTtl = Long.MAX_VALUE;
    for (boolean grew = true; grew; ) {
      grew = false;
      for (Rr rr : records) {
        if (rr.type == Question.CNAME && chain.contains(rr.owner) && !chain.contains(rr.target)) {
          if (chain.size() > MAX_CHAIN) throw new DnsFormatException("CNAME chain longer than " + MAX_CHAIN);
          chain.add(rr.target);
          minTtl = Math.min(minTtl, rr.ttl);
          grew = true;
        }
      }
    }
    Set<Inet4Address> addresses = new LinkedHashSet<>();
    for (Rr rr : records) {
      if (rr.type == Question.A && chain.contains(rr.owner)) {
        addresses.add(rr.address);
        minTtl = Math.min(minTtl, rr.ttl);
      }
    }
    return new Answers(new ArrayList<>(addresses), (int) Math.clamp(minTtl, 1, Integer.MAX_VALUE));
  }

  /** One resource record; null for types and classes other than IN A and IN CNAME. */
  private static Rr record(WireReader r) throws DnsFormatException {
    String owner = r.name().text();
    int type = r.u16();
    int rrclass = r.u16();
    long ttl = r.u32();
    if (ttl > Integer.MAX_VALUE) ttl = 0; // RFC 2181 8: a TTL with the top bit set means zero
    int length = r.u16();
    int end = r.position() + length;
    Rr rr = null;
    if (rrclass == Question.IN && type == Question.A) {
      if (length != 4) throw new DnsFormatException("A record of " + owner + " with " + length + " bytes of data, expected 4");
      rr = new Rr(owner, type, ttl, null, ipv4(r.bytes(4)));
    } else if (rrclass == Question.IN && type == Question.CNAME) {
      rr = new Rr(owner, type, ttl, r.name().text(), null);
      if (r.position() != end) {
        throw new DnsFormatException("CNAME data of " + owner + " ends at " + end + ", its name at " + r.position());
      }
    }
    r.seek(end);
    return rr;
  }

  private static Inet4Address ipv4(byte[] raw) {
    try {
      return (Inet4Address) InetAddress.getByAddress(raw); // four bytes: no lookup, no failure
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e);
    }
  }
}
