package dev.kiln.net.dns;

import java.net.Inet4Address;
import java.util.List;
import java.util.Optional;

/**
 * What the resolver must know about one client (one sandbox). Names passed in are lower case,
 * dotted, without the trailing dot; a byte outside {@code [a-z0-9-_]} inside a label arrives
 * escaped as {@code \DDD} (decimal), so a label can never smuggle a dot past a pattern. The
 * resolver calls these methods from many threads at once.
 */
public interface ClientPolicy {
  /** True when the name may be resolved for this client. */
  boolean allows(String name);

  /** Told after {@link #allows} said no, before the refusal is sent: for the record of what a guest tried. */
  void denied(String name);

  /**
   * Names the daemon answers itself (e.g. peers in a sandbox's network group): their A records, or
   * empty to forward. Consulted before {@link #allows}: a local name needs no egress rule.
   */
  Optional<List<Inet4Address>> localAnswer(String name);

  /**
   * Called with the IPv4 addresses an allowed name resolved to, BEFORE the answer is sent to the
   * client, so a firewall can admit them first. ttlSeconds is the smallest TTL in the answer, at
   * least 1. Exceptions thrown here mean the answer is not sent (SERVFAIL instead). Not called for
   * local answers nor for answers without an A record.
   */
  void resolved(String name, List<Inet4Address> addresses, int ttlSeconds);
}
