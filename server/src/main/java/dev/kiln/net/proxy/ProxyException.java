package dev.kiln.net.proxy;

/** A request the proxy refuses; the message goes to the client, so it never carries a token. */
final class ProxyException extends Exception {
  private final ProxyError error;

  ProxyException(ProxyError error, String message) {
    super(message, null, false, false);
    this.error = error;
  }

  ProxyError error() {
    return error;
  }
}
