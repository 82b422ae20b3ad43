package dev.kiln.net.dns;

/** How a query reached us, which bounds the size of its reply. */
enum Transport {
  /** RFC 1035 4.2.1; the resolver does not speak EDNS, so 512 bytes is every client's limit. */
  UDP(512),
  /** The two-byte length prefix of RFC 1035 4.2.2. */
  TCP(65_535);

  final int maxReply;

  Transport(int maxReply) {
    this.maxReply = maxReply;
  }
}
