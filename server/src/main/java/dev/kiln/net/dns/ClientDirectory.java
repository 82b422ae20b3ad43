package dev.kiln.net.dns;

import java.net.InetAddress;
import java.util.Optional;

/** Finds the policy of the client that sent a query, by its source address. */
@FunctionalInterface
public interface ClientDirectory {
  /** Empty when the source is not a known sandbox: its queries are REFUSED. */
  Optional<ClientPolicy> find(InetAddress source);
}
