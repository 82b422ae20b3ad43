package dev.kiln.daemon;

import dev.kiln.api.ApiServer;
import dev.kiln.net.proxy.PortProxy;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;

/** A daemon's listeners started, an address in use said in one line that names the key to change. */
final class Listening {
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
}
