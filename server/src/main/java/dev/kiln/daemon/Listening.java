package dev.kiln.daemon;

import dev.kiln.api.ApiServer;
import dev.kiln.config.E2bConfig;
import dev.kiln.e2b.E2bHostNames;
import dev.kiln.net.proxy.PemTls;
import dev.kiln.net.proxy.ProxyTargets;
import dev.kiln.net.proxy.PortProxy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;

/** A daemon's listeners started, an address in use said in one line that names the key to change. */
final class Listening {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Listening.class);

  private Listening() {}

  /** How a port proxy of a given kind is started on an address. */
  interface ProxyStart {
    PortProxy start(InetSocketAddress at) throws IOException;
  }

  static void startApi(ApiServer api, String listen) throws Exception {
    try {
      api.start();
    } catch (Exception e) {
      Optional<String> why = ListenFailure.of(listen, e, "--listen or the `listen` config key");
      if (why.isPresent()) throw new DaemonStartException(why.get(), e);
      throw e;
    }
  }

  static PortProxy startProxy(String listen, ProxyStart start) throws IOException, DaemonStartException {
    return startProxy(listen, "the port proxy", "network.proxyListen", start);
  }

  static PortProxy startProxy(String listen, String what, String key, ProxyStart start) throws IOException, DaemonStartException {
    String[] hp = listen.split(":");
    try {
      return start.start(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])));
    } catch (IOException e) {
      Optional<String> why = ListenFailure.of(listen + " (" + what + ")", e, "the `" + key + "` config key");
      if (why.isPresent()) throw new DaemonStartException(why.get(), e);
      throw e;
    }
  }

  /**
   * E2B's host names over HTTPS (docs/e2b.md): {@code api.<domain>} and each sandbox's envd reach
   * this daemon's API at {@code apiHost:apiPort}; other {@code <port>-<id>.<domain>} go to {@code sandboxPorts}.
   */
  static PortProxy startE2bHostNames(E2bConfig e, String apiHost, int apiPort, ProxyTargets sandboxPorts) throws IOException, DaemonStartException {
    javax.net.ssl.SSLContext tls;
    try {
      tls = PemTls.serverContext(e.certificate(), e.privateKey());
    } catch (IOException bad) {
      throw new DaemonStartException("e2b.certificate and e2b.privateKey: " + bad.getMessage(), bad);
    }
    String host = apiHost.equals("0.0.0.0") ? "127.0.0.1" : apiHost;
    E2bHostNames names = new E2bHostNames(new InetSocketAddress(host, apiPort), sandboxPorts);
    PortProxy proxy = startProxy(e.listen(), "E2B's host names", "e2b.listen", at -> PortProxy.startTls(at, e.domain(), names, tls));
    log.info("E2B host names served on https://{}:{} (api.{} and <port>-<sandbox>.{})", proxy.address().getHostString(), proxy.address().getPort(),
        e.domain(), e.domain());
    return proxy;
  }
}
