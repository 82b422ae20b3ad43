package dev.kiln.net.proxy;

import java.io.IOException;
import java.net.Socket;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** One client connection of a {@link PortProxy}: read the head, route, check the token, splice. */
final class ProxyExchange {
  private static final Logger log = LoggerFactory.getLogger(ProxyExchange.class);

  private final Socket client;
  private final ProxyDomain domain;
  private final ProxyTargets targets;
  private final ProxyLimits limits;

  ProxyExchange(Socket client, ProxyDomain domain, ProxyTargets targets, ProxyLimits limits) {
    this.client = client;
    this.domain = domain;
    this.targets = targets;
    this.limits = limits;
  }

  /** Serves the connection to its end; the caller closes the client socket. */
  void run() {
    RequestHead head;
    HeadReader.Head read;
    try {
      Optional<HeadReader.Head> r = HeadReader.read(client, limits.headTimeout());
      if (r.isEmpty()) return;
      read = r.get();
      head = RequestHead.parse(read.bytes());
    } catch (ProxyException e) {
      // Not a request we can name in a log line; DEBUG keeps scanners from flooding the log.
      log.debug("proxy refused client={} status={}: {}", client.getRemoteSocketAddress(), e.error().status, e.getMessage());
      ErrorResponse.send(client, e);
      return;
    } catch (IOException e) {
      log.debug("proxy client={} gone before its request head: {}", client.getRemoteSocketAddress(), e.toString());
      return;
    }
    forward(head, read.rest());
  }

  private void forward(RequestHead head, byte[] rest) {
    Route route = null;
    Socket upstream;
    try {
      route = Route.of(head, domain);
      upstream = connect(route, head);
    } catch (ProxyException e) {
      logRequest(route, head, e.error().status + " " + e.error().name());
      ErrorResponse.send(client, e);
      return;
    }
    logRequest(route, head, "forwarded");
    byte[] first = ForwardedHead.render(head, route, client.getInetAddress());
    byte[] toUpstream = new byte[first.length + rest.length];
    System.arraycopy(first, 0, toUpstream, 0, first.length);
    System.arraycopy(rest, 0, toUpstream, first.length, rest.length);
    Splice.run(client, toUpstream, upstream, Optional.of(limits.idleTimeout()));
  }

  private Socket connect(Route route, RequestHead head) throws ProxyException {
    String where = "port " + route.port() + " of sandbox " + route.sandboxId();
    ProxyTarget target = targets.find(route.sandboxId(), route.port())
        .orElseThrow(() -> new ProxyException(ProxyError.NOT_FOUND, "no " + where + " (unknown sandbox, or it has no network)"));
    AccessTokens.check(target, AccessTokens.presented(head));
    Socket upstream = new Socket();
    try {
      upstream.connect(target.address(), (int) limits.connectTimeout().toMillis());
      return upstream;
    } catch (IOException e) {
      Listener.closeQuietly(upstream);
      throw new ProxyException(ProxyError.UPSTREAM_UNREACHABLE, "nothing answers on " + where + ": " + e.getMessage());
    }
  }

  private void logRequest(Route route, RequestHead head, String result) {
    log.info("proxy sandbox={} port={} method={} path={} client={} result={}",
        route == null ? "-" : route.sandboxId(), route == null ? "-" : route.port(), head.method(), head.path(),
        client.getRemoteSocketAddress(), result);
  }
}
