package dev.kiln.net.proxy;

import java.util.Optional;

/** Looks a sandbox port up; empty = unknown sandbox or sandbox without network. */
@FunctionalInterface
public interface ProxyTargets {
  /**
   * Called once per proxied request, on the request's thread; must not block for long.
   *
   * @param sandboxId matches {@code [a-z0-9-]{1,64}}
   * @param port 1..65535
   */
  Optional<ProxyTarget> find(String sandboxId, int port);

  /** The target of a named host ({@code <label>.<domain>}, see {@link #namedHosts}). */
  default Optional<ProxyTarget> named(String label) {
    return Optional.empty();
  }

  /** The host labels that name a target of their own rather than a sandbox port. */
  default java.util.Set<String> namedHosts() {
    return java.util.Set.of();
  }
}
