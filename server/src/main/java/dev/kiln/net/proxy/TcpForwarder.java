package dev.kiln.net.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Raw TCP forwarding from a host port to a sandbox port. There is no token: whoever can reach the
 * host port can use it; the API that creates one is authenticated.
 *
 * <p>Forwarded connections have no idle timeout (a database or SSH session may sit idle for
 * hours); they end when either side closes, on a reset, or on {@link #close()}.
 */
public final class TcpForwarder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TcpForwarder.class);
  // Same reasoning as the PortProxy defaults: a guest answers fast or not at all, and the bound
  // keeps one forwarder from taking the host's file descriptors.
  private static final int MAX_CONNECTIONS = ProxyLimits.DEFAULTS.maxConnections();
  private static final int CONNECT_TIMEOUT_MILLIS = (int) ProxyLimits.DEFAULTS.connectTimeout().toMillis();

  private final Listener listener;

  private TcpForwarder(Listener listener) {
    this.listener = listener;
  }

  /**
   * Starts listening and forwarding at once.
   *
   * @param target asked once per connection, so the sandbox may move between connections; if it
   *     throws, or nothing answers there, the client's connection is closed
   * @throws IOException when {@code listen} cannot be bound
   */
  public static TcpForwarder start(InetSocketAddress listen, Supplier<InetSocketAddress> target) throws IOException {
    Objects.requireNonNull(target, "target");
    return new TcpForwarder(Listener.start(listen, "tcp-forward", MAX_CONNECTIONS, client -> forward(client, target), client -> {}));
  }

  /** The bound address, with the actual port when 0 was asked for. */
  public InetSocketAddress address() {
    return listener.address();
  }

  /** Closes the listener and every open forwarded connection, both its ends; idempotent. */
  @Override
  public void close() {
    listener.close();
  }

  private static void forward(Socket client, Supplier<InetSocketAddress> target) {
    InetSocketAddress to;
    try {
      to = Objects.requireNonNull(target.get(), "target supplier returned null");
    } catch (RuntimeException e) {
      log.warn("tcp forward from {}: no target: {}", client.getRemoteSocketAddress(), e.toString());
      return;
    }
    Socket upstream = new Socket();
    try {
      upstream.connect(to, CONNECT_TIMEOUT_MILLIS);
    } catch (IOException e) {
      log.info("tcp forward from {} to {}: {}", client.getRemoteSocketAddress(), to, e.toString());
      Listener.closeQuietly(upstream);
      return;
    }
    Splice.run(client, new byte[0], upstream, Optional.empty());
  }
}
