package dev.kiln.config;

import java.util.List;

/**
 * Sandbox networking on this host.
 *
 * @param enabled      false: every sandbox is created without a network device (mode none); the
 *                     default is on when the host can do it (root, ip, nft, tc, nsenter)
 * @param addressPool  the IPv4 block namespaces take their /30s from (host end, sandbox end);
 *                     must not overlap a network the host routes to
 * @param prefix       names of this daemon's namespaces ({@code <prefix>-<n>}), host veths
 *                     ({@code <prefix>v<n>}) and host nft table ({@code <prefix>_host})
 * @param prewarmed    namespaces kept made ahead, so none is made on the create path
 * @param dnsPort      the resolver guests' DNS is sent to (on the host ends of their veths)
 * @param dnsUpstreams where allowed names are resolved, host:port; default: the host's
 *                     /etc/resolv.conf nameservers
 * @param proxyListen  host:port of the port proxy (HTTP and WebSocket to sandbox ports)
 * @param proxyDomain  sandbox ports are reachable as {@code <port>-<sandboxId>.<proxyDomain>}
 * @param forwardBind  address raw TCP forwards listen on
 * @param defaultMode  network mode of a create request that names none: "none" (the default:
 *                     untrusted code gets no network unless asked) or "internet"
 */
public record NetworkConfig(Boolean enabled, String addressPool, String prefix, Integer prewarmed, int dnsPort, List<String> dnsUpstreams,
    String proxyListen, String proxyDomain, String forwardBind, String defaultMode) {
  public static final NetworkConfig DEFAULT = new NetworkConfig(null, null, null, null, 0, null, null, null, null, null);

  public NetworkConfig {
    if (addressPool == null) addressPool = "10.200.0.0/16";
    if (prefix == null) prefix = "kiln";
    if (prewarmed == null) prewarmed = 2;
    if (prewarmed < 0 || prewarmed > 64) throw new IllegalArgumentException("network.prewarmed must be 0..64, got " + prewarmed);
    if (dnsPort == 0) dnsPort = 7753;
    if (dnsPort < 1 || dnsPort > 65535) throw new IllegalArgumentException("network.dnsPort must be 1..65535, got " + dnsPort);
    dnsUpstreams = dnsUpstreams == null ? List.of() : List.copyOf(dnsUpstreams);
    for (String u : dnsUpstreams) {
      if (!u.matches("[^:\\s]+:\\d{1,5}")) throw new IllegalArgumentException("network.dnsUpstreams entries must be host:port, got '" + u + "'");
    }
    if (proxyListen == null) proxyListen = "127.0.0.1:7789";
    if (!proxyListen.matches("[^:\\s]+:\\d{1,5}")) throw new IllegalArgumentException("network.proxyListen must be host:port, got '" + proxyListen + "'");
    if (proxyDomain == null) proxyDomain = "sandbox.localhost";
    if (forwardBind == null) forwardBind = "127.0.0.1";
    if (defaultMode == null) defaultMode = "none";
    if (!defaultMode.equals("none") && !defaultMode.equals("internet")) throw new IllegalArgumentException("network.defaultMode must be none or internet, got '" + defaultMode + "'");
  }

  /** No sandbox networking: every sandbox is mode none. */
  public static NetworkConfig disabled() {
    return new NetworkConfig(false, null, null, null, 0, null, null, null, null, null);
  }

  public boolean wanted() {
    return enabled == null || enabled;
  }

  public NetworkConfig with(boolean on, String pool, String namePrefix, int dns, String proxy, List<String> upstreams) {
    return new NetworkConfig(on, pool, namePrefix, prewarmed, dns, upstreams, proxy, proxyDomain, forwardBind, defaultMode);
  }
}
