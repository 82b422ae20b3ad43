package dev.kiln.net;

import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the resolver has admitted to one sandbox's firewall and until when, so a repeated answer
 * costs no nft call while at least half its lifetime is left. Not thread-safe: the caller holds
 * the instance's monitor.
 */
final class Admissions {
  private final Map<Inet4Address, Long> expiresAtNanos = new HashMap<>();

  /** The addresses that are not admitted, or whose admission has less than half of {@code ttlSeconds} left. */
  List<Inet4Address> needing(List<Inet4Address> addresses, int ttlSeconds) {
    long now = System.nanoTime();
    expiresAtNanos.values().removeIf(t -> t - now <= 0);
    List<Inet4Address> out = new ArrayList<>();
    for (Inet4Address a : addresses) {
      Long until = expiresAtNanos.get(a);
      if ((until == null || until - now < ttlSeconds * 500_000_000L) && !out.contains(a)) out.add(a);
    }
    return out;
  }

  void admitted(List<Inet4Address> addresses, int ttlSeconds) {
    long until = System.nanoTime() + ttlSeconds * 1_000_000_000L;
    addresses.forEach(a -> expiresAtNanos.put(a, until));
  }

  int size() {
    return expiresAtNanos.size();
  }

  void clear() {
    expiresAtNanos.clear();
  }
}
