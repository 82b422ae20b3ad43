package dev.kiln.net.proxy;

import java.io.IOException;
import java.net.Socket;
import java.util.List;
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
  /** On a node: the credential every request must carry, since only the control plane may use this proxy. */
  private final Optional<String> requiredCredential;
  /** The client came over TLS (the E2B host-name listener): what X-Forwarded-Proto says. */
  private final boolean tls;

  ProxyExchange(Socket client, ProxyDomain domain, ProxyTargets targets, ProxyLimits limits, Optional<String> requiredCredential) {
    this.client = client;
    this.tls = client instanceof javax.net.ssl.SSLSocket;
    this.requiredCredential = requiredCredential;
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
    ProxyTarget target;
    try {
      route = Route.of(head, domain, targets.namedHosts());
      checkCredential(head);
      target = target(route, head);
      upstream = connect(route, target);
    } catch (ProxyException e) {
      logRequest(route, head, e.error().status + " " + e.error().name());
      ErrorResponse.send(client, e);
      return;
    }
    logRequest(route, head, "forwarded");
    byte[] first = target.relayCredential().isPresent() ? ForwardedHead.relayed(head, target.relayCredential().get())
        : ForwardedHead.render(head, route, client.getInetAddress(), target, tls);
    byte[] toUpstream = new byte[first.length + rest.length];
    System.arraycopy(first, 0, toUpstream, 0, first.length);
    System.arraycopy(rest, 0, toUpstream, first.length, rest.length);
    Splice.run(client, toUpstream, upstream, Optional.of(limits.idleTimeout()));
  }

  private void checkCredential(RequestHead head) throws ProxyException {
    if (requiredCredential.isEmpty()) return;
    List<String> presented = head.values(ProxyTarget.CREDENTIAL_HEADER);
    if (presented.size() != 1 || !AccessTokens.sameSecret(requiredCredential.get(), presented.getFirst())) {
      throw new ProxyException(ProxyError.FORBIDDEN, "this is a node's port proxy: it answers only the cluster's control instances; use a control instance's port proxy");
    }
  }

  private ProxyTarget target(Route route, RequestHead head) throws ProxyException {
    if (route.named().isPresent()) {
      return targets.named(route.named().get()).orElseThrow(() -> new ProxyException(ProxyError.NOT_FOUND, "nothing is served at " + route.named().get() + "." + domain.name()));
    }
    String where = "port " + route.port() + " of sandbox " + route.sandboxId();
    ProxyTarget target = targets.find(route.sandboxId(), route.port())
        .orElseThrow(() -> new ProxyException(ProxyError.NOT_FOUND, "no " + where + " (unknown sandbox, or it has no network)"));
    // A relay's node checks the token against the sandbox's own record.
    if (target.relayCredential().isEmpty()) AccessTokens.check(target, AccessTokens.presented(head));
    return target;
  }

  private Socket connect(Route route, ProxyTarget target) throws ProxyException {
    String where = route.named().isPresent() ? route.named().get() + "." + domain.name()
        : target.relayCredential().isPresent() ? "the port proxy of the node that runs sandbox " + route.sandboxId()
        : "port " + route.port() + " of sandbox " + route.sandboxId();
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
        route == null ? "-" : route.named().orElse(route.sandboxId()), route == null ? "-" : route.port(), head.method(), head.path(),
        client.getRemoteSocketAddress(), result);
  }
}
