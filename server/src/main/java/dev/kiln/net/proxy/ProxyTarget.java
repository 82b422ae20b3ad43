package dev.kiln.net.proxy;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a sandbox port is, and the token needed to reach it (empty = the sandbox is public); or,
 * on a cluster's control instance, the port proxy of the node that runs the sandbox, which checks
 * the token itself and takes the request only with the node's credential.
 *
 * @param address the guest port as the daemon reaches it, or the node's port proxy; must be resolved and have a port
 * @param accessToken the token a client must present; when present, not blank (empty for a relay)
 * @param relayCredential present for a node's proxy: the credential sent with the request in {@link #CREDENTIAL_HEADER}
 * @param setHeaders headers the proxy sets on the forwarded request, replacing the client's of those names (see {@link #service})
 */
public record ProxyTarget(InetSocketAddress address, Optional<String> accessToken, Optional<String> relayCredential, java.util.Map<String, String> setHeaders) {
  /** The header a node's port proxy takes its credential in (the same as its API's). */
  public static final String CREDENTIAL_HEADER = "X-Kiln-Node-Credential";

  public ProxyTarget(InetSocketAddress address, Optional<String> accessToken) {
    this(address, accessToken, Optional.empty(), java.util.Map.of());
  }

  public ProxyTarget(InetSocketAddress address, Optional<String> accessToken, Optional<String> relayCredential) {
    this(address, accessToken, relayCredential, java.util.Map.of());
  }

  /**
   * One of the daemon's own services (E2B's API, a sandbox's envd), which checks its own
   * credentials: the request goes as it came, with {@code setHeaders} in place of any the client sent
   * under those names.
   */
  public static ProxyTarget service(InetSocketAddress address, java.util.Map<String, String> setHeaders) {
    return new ProxyTarget(address, Optional.empty(), Optional.empty(), setHeaders);
  }

  /** The port proxy of the node that runs the sandbox. */
  public static ProxyTarget relay(InetSocketAddress nodeProxy, String credential) {
    return new ProxyTarget(nodeProxy, Optional.empty(), Optional.of(credential));
  }

  public ProxyTarget {
    Objects.requireNonNull(relayCredential, "relayCredential");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(accessToken, "accessToken");
    setHeaders = java.util.Map.copyOf(setHeaders);
    if (address.isUnresolved() || address.getPort() == 0)
      throw new IllegalArgumentException("need a resolved address with a port, got " + address);
    if (accessToken.filter(String::isBlank).isPresent()) throw new IllegalArgumentException("an access token, when set, must not be blank");
  }

  @Override
  public String toString() {
    return "ProxyTarget[" + address + (relayCredential.isPresent() ? ", relay" : accessToken.isPresent() ? ", token" : ", public") + "]";
  }
}
