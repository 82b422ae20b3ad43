package dev.kiln.net.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Objects;
import java.util.Optional;

/**
 * HTTP and WebSocket reverse proxy to sandbox ports: one client connection carries one request
 * (or one WebSocket) to the sandbox port its Host or path names. See the package documentation
 * for routing, tokens and limits.
 */
public final class PortProxy implements AutoCloseable {
  private final Listener listener;

  private PortProxy(Listener listener) {
    this.listener = listener;
  }

  /**
   * Starts listening and serving at once.
   *
   * @param listen where to listen; port 0 picks a free one, see {@link #address()}
   * @param domain e.g. "sandbox.localhost"; requests with Host
   *     {@code <port>-<sandboxId>.<domain>[:anyport]} go to that sandbox port. Requests with path
   *     {@code /v1/sandboxes/{id}/ports/{port}/rest...} go to that sandbox port with path
   *     {@code /rest...} ("/" when empty; query kept)
   * @param targets looked up once per request
   * @throws IllegalArgumentException when {@code domain} is not a lowercase DNS name
   * @throws IOException when {@code listen} cannot be bound
   */
  public static PortProxy start(InetSocketAddress listen, String domain, ProxyTargets targets) throws IOException {
    return start(listen, domain, targets, ProxyLimits.DEFAULTS, Optional.empty());
  }

  /**
   * A node's port proxy: like {@link #start(InetSocketAddress, String, ProxyTargets)}, but every
   * request must carry {@code credential} in {@link ProxyTarget#CREDENTIAL_HEADER} (else 403), as
   * only the cluster's control instances relay to it.
   */
  public static PortProxy startForControlPlane(InetSocketAddress listen, String domain, ProxyTargets targets, String credential) throws IOException {
    return start(listen, domain, targets, ProxyLimits.DEFAULTS, Optional.of(credential));
  }

  /**
   * The same proxy over TLS: E2B's host-name scheme ({@code https://<port>-<sandbox>.<domain>}),
   * where {@code targets} also names hosts of the daemon's own services (docs/e2b.md).
   */
  public static PortProxy startTls(InetSocketAddress listen, String domain, ProxyTargets targets, javax.net.ssl.SSLContext tls) throws IOException {
    return start(listen, domain, targets, ProxyLimits.DEFAULTS, Optional.empty(), Optional.of(tls));
  }

  static PortProxy start(InetSocketAddress listen, String domain, ProxyTargets targets, ProxyLimits limits) throws IOException {
    return start(listen, domain, targets, limits, Optional.empty());
  }

  private static PortProxy start(InetSocketAddress listen, String domain, ProxyTargets targets, ProxyLimits limits, Optional<String> credential)
      throws IOException {
    return start(listen, domain, targets, limits, credential, Optional.empty());
  }

  private static PortProxy start(InetSocketAddress listen, String domain, ProxyTargets targets, ProxyLimits limits, Optional<String> credential,
      Optional<javax.net.ssl.SSLContext> tls) throws IOException {
    ProxyDomain d = new ProxyDomain(domain);
    Objects.requireNonNull(targets, "targets");
    // A refused TLS client is only closed: an answer would need its handshake, on the accept thread.
    return new PortProxy(Listener.start(listen, tls.isPresent() ? "e2b-proxy" : "port-proxy", limits.maxConnections(),
        client -> new ProxyExchange(client, d, targets, limits, credential).run(),
        tls.isPresent() ? client -> { } : PortProxy::refuse, tls));
  }

  /** The bound address, with the actual port when 0 was asked for. */
  public InetSocketAddress address() {
    return listener.address();
  }

  /** Stops listening and closes every open client connection (and so its upstream); idempotent. */
  @Override
  public void close() {
    listener.close();
  }

  // Runs on the accept thread: the answer fits a fresh socket's send buffer, so the write cannot block.
  private static void refuse(Socket client) {
    try {
      client.getOutputStream().write(ErrorResponse.render(ProxyError.TOO_MANY_CONNECTIONS, "too many open connections to sandbox ports, retry later"));
    } catch (IOException ignored) {
      // the client is being turned away either way
    }
  }
}
