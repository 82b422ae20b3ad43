package dev.kiln.net.proxy;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which sandbox port a request is for, and the path to send it with; or which of the proxy's named
 * hosts ({@code <name>.<domain>}, such as E2B's {@code api}), whose target the daemon gives.
 *
 * @param path the upstream path, without query
 * @param named the host label of a named host ({@code sandboxId} is then empty and {@code port} 0)
 */
record Route(String sandboxId, int port, String path, Optional<String> named) {
  // The project's ids are lowercase alphanumerics and '-'; 64 bounds what reaches the lookup.
  private static final String ID = "([a-z0-9-]{1,64})";
  private static final String PORT = "([1-9][0-9]{0,4})";
  private static final Pattern HOST_LABEL = Pattern.compile(PORT + "-" + ID);
  private static final Pattern PATH = Pattern.compile("/v1/sandboxes/" + ID + "/ports/" + PORT + "(/.*)?");

  Route(String sandboxId, int port, String path) {
    this(sandboxId, port, path, Optional.empty());
  }

  Route {
    if (!path.startsWith("/")) throw new IllegalArgumentException("path must start with '/': " + path);
    if (named.isEmpty() && !sandboxId.matches("[a-z0-9-]{1,64}")) throw new IllegalArgumentException("not a sandbox id: '" + sandboxId + "'");
    if (named.isEmpty() && (port < 1 || port > 65535)) throw new IllegalArgumentException("port " + port + " is outside 1..65535");
  }

  /**
   * Host {@code <port>-<id>.<domain>} first, keeping the path; then path
   * {@code /v1/sandboxes/<id>/ports/<port>/rest}, sent as {@code /rest}.
   *
   * @throws ProxyException NOT_FOUND when neither names a sandbox port
   */
  static Route of(RequestHead head, ProxyDomain domain, java.util.Set<String> namedHosts) throws ProxyException {
    Optional<String> label = head.host().flatMap(domain::label);
    if (label.isPresent() && namedHosts.contains(label.get())) return new Route("", 0, head.path(), label);
    Optional<Matcher> byHost = label.map(HOST_LABEL::matcher).filter(Matcher::matches);
    if (byHost.isPresent() && validPort(byHost.get().group(1)))
      return new Route(byHost.get().group(2), Integer.parseInt(byHost.get().group(1)), head.path());
    Matcher byPath = PATH.matcher(head.path());
    if (byPath.matches() && validPort(byPath.group(2))) {
      String rest = byPath.group(3);
      return new Route(byPath.group(1), Integer.parseInt(byPath.group(2)), rest == null ? "/" : rest);
    }
    throw new ProxyException(ProxyError.NOT_FOUND,
        "neither the host nor the path names a sandbox port: use <port>-<sandbox>." + domain.name() + " or /v1/sandboxes/<sandbox>/ports/<port>/");
  }

  private static boolean validPort(String digits) {
    return Integer.parseInt(digits) <= 65535;
  }
}
