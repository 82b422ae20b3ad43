package dev.kiln.config;

import java.util.List;

/** Sandbox networking on this host. Each key's description and range: its {@link ConfigDoc}, published as docs/config.md. */
public record NetworkConfig(
    @ConfigDoc(value = "false: every sandbox is created without a network device (mode none)", defaultText = "on where the host can do it (root, ip, nft, tc, nsenter)")
    Boolean enabled,
    @ConfigDoc(value = "the IPv4 block the namespaces take their /30s from (host end, sandbox end); must not overlap a network the host routes to", range = "IPv4 CIDR")
    String addressPool,
    @ConfigDoc("names of this daemon's namespaces (`<prefix>-<n>`), host veths (`<prefix>v<n>`) and host nft table (`<prefix>_host`)")
    String prefix,
    @ConfigDoc(value = "namespaces kept made ahead, so that none is made on the create path", range = "0..64")
    Integer prewarmed,
    @ConfigDoc(value = "the resolver's port, on the host ends of the sandboxes' veths, where guests' DNS is sent", range = "1..65535")
    int dnsPort,
    @ConfigDoc(value = "where allowed names are resolved", range = "host:port each", defaultText = "the nameservers of the host's /etc/resolv.conf")
    List<String> dnsUpstreams,
    @ConfigDoc(value = "host:port of the port proxy (HTTP and WebSocket to sandbox ports)", range = "host:port")
    String proxyListen,
    @ConfigDoc("sandbox ports are reachable as `<port>-<sandboxId>.<proxyDomain>`")
    String proxyDomain,
    @ConfigDoc("the address raw TCP forwards listen on")
    String forwardBind,
    @ConfigDoc(value = "network mode of a create request that names none: `none` gives untrusted code no network unless it is asked for", values = {"none", "internet"})
    String defaultMode) {
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
