package dev.kiln.net.proxy;

import java.time.Duration;

/**
 * The bounds one {@link PortProxy} keeps; tests shrink them.
 *
 * @param maxConnections open client connections; beyond it a client gets 503
 * @param headTimeout how long a client may take to send its whole request head
 * @param connectTimeout how long connecting to the sandbox port may take
 * @param idleTimeout a spliced connection with no byte moving either way for this long is closed
 */
record ProxyLimits(int maxConnections, Duration headTimeout, Duration connectTimeout, Duration idleTimeout) {
  /**
   * 1024 connections: a few browser tabs per sandbox on a host with tens of sandboxes, far below
   * the default 64k descriptor limit (each costs two). 30 s for a head: slow links, not slowloris.
   * 5 s connect: a guest on a local bridge answers in milliseconds or not at all. 10 min idle:
   * longer than common WebSocket ping intervals and dev-server keep-alives.
   */
  static final ProxyLimits DEFAULTS = new ProxyLimits(1024, Duration.ofSeconds(30), Duration.ofSeconds(5), Duration.ofMinutes(10));

  ProxyLimits {
    if (maxConnections < 1) throw new IllegalArgumentException("maxConnections must be at least 1, got " + maxConnections);
    for (Duration d : new Duration[] {headTimeout, connectTimeout, idleTimeout}) {
      if (d.isNegative() || d.isZero() || d.toMillis() > Integer.MAX_VALUE)
        throw new IllegalArgumentException("timeouts must be positive and below 24 days, got " + d);
    }
  }
}
