package dev.kiln.net.dns;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandboxes' DNS resolver: serves UDP and TCP on one address and port, answers by each
 * client's {@link ClientPolicy} and forwards what is allowed to the upstream resolvers. Running
 * from {@link #start} until {@link #close}; a malformed or hostile packet costs at most a FORMERR
 * reply and a counted warning, never the server.
 */
public final class DnsServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsServer.class);
  /** Guest-triggered warnings are summarised at most this often. */
  private static final Duration WARN_INTERVAL = Duration.ofSeconds(10);
  /** An ephemeral UDP port may be taken for TCP; a few fresh picks always find a free pair. */
  private static final int BIND_ATTEMPTS = 16;

  private final DatagramSocket udp;
  private final ServerSocket tcp;
  private final InetSocketAddress address; // kept: a closed socket no longer reports it
  private final TcpListener tcpListener;
  private final ExecutorService workers;
  private final AtomicBoolean closed = new AtomicBoolean();

  private DnsServer(DatagramSocket udp, ServerSocket tcp, List<InetSocketAddress> upstreams, ClientDirectory clients, DnsLimits limits) {
    this.udp = udp;
    this.tcp = tcp;
    this.address = (InetSocketAddress) udp.getLocalSocketAddress();
    this.workers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("dns-query-", 0).factory());
    RateLimitedLog malformed = new RateLimitedLog(log, "malformed packets", WARN_INTERVAL);
    RateLimitedLog overload = new RateLimitedLog(log, "dropped over limits", WARN_INTERVAL);
    RateLimitedLog failures = new RateLimitedLog(log, "failed queries", WARN_INTERVAL);
    QueryHandler handler = new QueryHandler(clients, new Forwarder(upstreams, limits.upstreamTimeout()), malformed, failures);
    this.tcpListener = new TcpListener(tcp, handler, workers, limits, malformed, overload);
    UdpListener udpListener = new UdpListener(udp, handler, workers,
        new SourceLimit(limits.maxUdpInFlight(), limits.maxUdpPerClient()), overload);
    Thread.ofVirtual().name("dns-udp-" + udp.getLocalPort()).start(udpListener);
    Thread.ofVirtual().name("dns-tcp-" + tcp.getLocalPort()).start(tcpListener);
  }

  /**
   * Binds UDP and TCP on {@code listen} (port 0: one ephemeral port, the same for both) and starts
   * serving. Allowed queries go to {@code upstreams} in order: the first reply wins, each upstream
   * gets 2 s before the next is tried, and when none answers the client gets SERVFAIL.
   *
   * @throws IOException when the address cannot be bound
   * @throws IllegalArgumentException when {@code upstreams} is empty
   */
  public static DnsServer start(InetSocketAddress listen, List<InetSocketAddress> upstreams, ClientDirectory clients) throws IOException {
    return start(listen, upstreams, clients, DnsLimits.DEFAULTS);
  }

  static DnsServer start(InetSocketAddress listen, List<InetSocketAddress> upstreams, ClientDirectory clients, DnsLimits limits)
      throws IOException {
    Objects.requireNonNull(clients, "clients");
    if (upstreams.isEmpty()) throw new IllegalArgumentException("need at least one upstream resolver");
    for (int attempt = 1; ; attempt++) {
      DatagramSocket udp = new DatagramSocket(listen);
      ServerSocket tcp = new ServerSocket();
      try {
        tcp.setReuseAddress(true); // a restarted daemon rebinds while old connections sit in TIME_WAIT
        tcp.bind(new InetSocketAddress(listen.getAddress(), udp.getLocalPort()), 64);
      } catch (IOException e) {
        udp.close();
        tcp.close();
        if (!(e instanceof BindException) || listen.getPort() != 0 || attempt == BIND_ATTEMPTS) throw e;
        continue;
      }
      DnsServer server = new DnsServer(udp, tcp, upstreams, clients, limits);
      log.info("dns listening address={} upstreams={}", server.address(), upstreams);
      return server;
    }
  }

  /** The bound address and port, the same for UDP and TCP. */
  public InetSocketAddress address() {
    return address;
  }

  /** Stops serving: closes both sockets and every TCP connection; queries in flight are abandoned. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) return;
    udp.close();
    try {
      tcp.close();
    } catch (IOException e) {
      log.warn("dns closing tcp socket {} failed", tcp.getLocalSocketAddress(), e);
    }
    tcpListener.closeConnections();
    workers.shutdownNow();
    log.info("dns stopped address={}", address);
  }
}
