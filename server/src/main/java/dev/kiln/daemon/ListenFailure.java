package dev.kiln.daemon;

import java.net.BindException;
import java.util.Locale;
import java.util.Optional;

/**
 * A listener that could not bind, said the way a person starting the daemon needs it: which
 * address, why in plain words, and the flag or config key that chooses another. Jetty's own words
 * ("Failed to bind to /127.0.0.1:7901") name neither the reason nor the way out.
 */
final class ListenFailure {
  private ListenFailure() {}

  /**
   * The message for {@code failure} when a {@link BindException} is behind it, else empty.
   *
   * @param where  host:port as configured
   * @param choose how to choose another ("--listen or the `listen` config key")
   */
  static Optional<String> of(String where, Throwable failure, String choose) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof BindException b) return Optional.of(message(where, b.getMessage(), choose));
    }
    return Optional.empty();
  }

  static String message(String where, String reason, String choose) {
    String r = reason == null ? "" : reason.toLowerCase(Locale.ROOT);
    if (r.contains("in use")) return "cannot listen on " + where + ": address already in use (another kiln daemon? choose another with " + choose + ")";
    if (r.contains("assign requested address")) {
      return "cannot listen on " + where + ": no interface of this host has that address (choose another with " + choose + ")";
    }
    if (r.contains("permission denied")) return "cannot listen on " + where + ": permission denied, ports below 1024 need root (choose another with " + choose + ")";
    return "cannot listen on " + where + ": " + (r.isEmpty() ? "the address cannot be bound" : r) + " (choose another with " + choose + ")";
  }
}
