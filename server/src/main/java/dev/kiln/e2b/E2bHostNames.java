package dev.kiln.e2b;

import dev.kiln.net.proxy.ProxyTarget;
import dev.kiln.net.proxy.ProxyTargets;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What E2B's host names reach through the HTTPS port proxy: {@code api.<domain>} is E2B's API on
 * the daemon's port, {@code 49983-<id>.<domain>} that sandbox's envd (the daemon's, told the
 * sandbox in {@link E2bApi#SANDBOX_HEADER}, whatever the client sent there), and any other
 * {@code <port>-<id>.<domain>} the sandbox's own port, as Kiln's port proxy serves it.
 */
public final class E2bHostNames implements ProxyTargets {
  /** The port E2B's SDK reaches envd on. */
  public static final int ENVD_PORT = 49983;
  private final InetSocketAddress api;
  private final ProxyTargets sandboxPorts;

  public E2bHostNames(InetSocketAddress api, ProxyTargets sandboxPorts) {
    this.api = api;
    this.sandboxPorts = sandboxPorts;
  }

  @Override
  public Optional<ProxyTarget> find(String sandboxId, int port) {
    if (port == ENVD_PORT) return Optional.of(ProxyTarget.service(api, Map.of(E2bApi.SANDBOX_HEADER, sandboxId)));
    return sandboxPorts.find(sandboxId, port);
  }

  @Override
  public Optional<ProxyTarget> named(String label) {
    return label.equals("api") ? Optional.of(ProxyTarget.service(api, Map.of())) : Optional.empty();
  }

  @Override
  public Set<String> namedHosts() {
    return Set.of("api");
  }
}
