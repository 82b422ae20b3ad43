package dev.kiln.net.proxy;

import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Optional;

/**
 * Where a sandbox port is, and the token needed to reach it (empty = the sandbox is public).
 *
 * @param address the guest port as the daemon reaches it; must be resolved and have a port
 * @param accessToken the token a client must present; when present, not blank
 */
public record ProxyTarget(InetSocketAddress address, Optional<String> accessToken) {
  public ProxyTarget {
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(accessToken, "accessToken");
    if (address.isUnresolved() || address.getPort() == 0)
      throw new IllegalArgumentException("need a resolved address with a port, got " + address);
    if (accessToken.filter(String::isBlank).isPresent()) throw new IllegalArgumentException("an access token, when set, must not be blank");
  }

  @Override
  public String toString() {
    return "ProxyTarget[" + address + (accessToken.isPresent() ? ", token" : ", public") + "]";
  }
}
