package dev.kiln.net.dns;

import java.time.Duration;

/**
 * The resolver's bounds. Every guest-driven resource (threads, buffers, sockets) is capped by one
 * of these.
 */
record DnsLimits(Duration upstreamTimeout, Duration tcpIdleTimeout, int maxTcpConnections, int maxTcpPerClient,
    int maxUdpInFlight, int maxUdpPerClient) {
  static final DnsLimits DEFAULTS = new DnsLimits(
      // glibc waits 5 s for an answer: two upstreams at 2 s each still reply (SERVFAIL) in time.
      Duration.ofSeconds(2),
      // RFC 7766 6.2.3 suggests idle timeouts of seconds; TCP is only the fallback for big answers.
      Duration.ofSeconds(10),
      // 64 connections of at most one 64 KiB message each: 4 MiB in the worst case.
      64, 8,
      // A query in flight holds a virtual thread and a small buffer; past this a flood is dropped,
      // and UDP clients retry. A sandbox gets a quarter, so one cannot starve the rest.
      256, 64);

  DnsLimits {
    if (upstreamTimeout.isNegative() || upstreamTimeout.isZero() || tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()) {
      throw new IllegalArgumentException("timeouts must be positive, got " + upstreamTimeout + " and " + tcpIdleTimeout);
    }
    if (maxTcpPerClient < 1 || maxTcpConnections < maxTcpPerClient || maxUdpPerClient < 1 || maxUdpInFlight < maxUdpPerClient) {
      throw new IllegalArgumentException("need 1 <= per-client <= total, got TCP " + maxTcpPerClient + "/" + maxTcpConnections
          + " and UDP " + maxUdpPerClient + "/" + maxUdpInFlight);
    }
  }
}
