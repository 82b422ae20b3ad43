package dev.kiln.net.dns;

/** A DNS message that breaks the wire format or one of this package's limits. */
final class DnsFormatException extends Exception {
  DnsFormatException(String message) {
    super(message);
  }
}
