package dev.kiln.net.proxy;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/** The DNS suffix under which {@code <port>-<sandboxId>.<name>} host names reach sandbox ports. */
record ProxyDomain(String name) {
  private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");

  ProxyDomain {
    if (name == null || name.length() > 200 || !name.equals(name.toLowerCase(Locale.ROOT))
        || !Arrays.stream(name.split("\\.", -1)).allMatch(l -> LABEL.matcher(l).matches()))
      throw new IllegalArgumentException("not a lowercase DNS name: '" + name + "'");
  }

  /**
   * The part of a Host header value in front of {@code .<name>}, ignoring case and any
   * {@code :port}; empty when the host is not directly under this domain.
   */
  Optional<String> label(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    int colon = h.lastIndexOf(':');
    if (colon >= 0 && !h.startsWith("[")) h = h.substring(0, colon);
    if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
    String suffix = "." + name;
    if (!h.endsWith(suffix)) return Optional.empty();
    String label = h.substring(0, h.length() - suffix.length());
    return label.isEmpty() || label.contains(".") ? Optional.empty() : Optional.of(label);
  }
}
