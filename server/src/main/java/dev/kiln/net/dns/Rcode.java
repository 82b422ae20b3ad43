package dev.kiln.net.dns;

/** The response codes this resolver sends (RFC 1035 4.1.1). */
enum Rcode {
  NOERROR(0), FORMERR(1), SERVFAIL(2), NXDOMAIN(3), NOTIMP(4), REFUSED(5);

  final int code;

  Rcode(int code) {
    this.code = code;
  }
}
