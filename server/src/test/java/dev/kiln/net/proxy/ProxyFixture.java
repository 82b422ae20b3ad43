package dev.kiln.net.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.Map;
import java.util.Optional;

/** Sandbox ports as the tests' {@link ProxyTargets} sees them. */
final class ProxyFixture {
  static final String DOMAIN = "sandbox.localhost";
  static final String TOKEN = "s3cret-token";

  private ProxyFixture() {}

  /**
   * sb1:8080 → {@code backend} with {@link #TOKEN}; pub:8080 → {@code backend}, public;
   * down:80 → a port nothing listens on, public.
   */
  static ProxyTargets targets(InetSocketAddress backend) throws IOException {
    Map<String, ProxyTarget> t = Map.of(
        "sb1:8080", new ProxyTarget(backend, Optional.of(TOKEN)),
        "pub:8080", new ProxyTarget(backend, Optional.empty()),
        "down:80", new ProxyTarget(deadAddress(), Optional.empty()));
    return (id, port) -> Optional.ofNullable(t.get(id + ":" + port));
  }

  /** A loopback port that was free a moment ago, so a connect there is refused. */
  static InetSocketAddress deadAddress() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return new InetSocketAddress("127.0.0.1", s.getLocalPort());
    }
  }

  static InetSocketAddress anyLoopbackPort() {
    return new InetSocketAddress("127.0.0.1", 0);
  }
}
