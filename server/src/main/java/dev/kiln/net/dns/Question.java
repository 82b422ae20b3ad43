package dev.kiln.net.dns;

import java.io.ByteArrayOutputStream;

/** The question of a message: name, QTYPE and QCLASS (RFC 1035 4.1.2). */
record Question(DnsName name, int type, int qclass) {
  static final int A = 1;
  static final int CNAME = 5;
  static final int AAAA = 28;
  static final int IXFR = 251;
  static final int AXFR = 252;
  static final int IN = 1;

  static Question read(WireReader r) throws DnsFormatException {
    return new Question(r.name(), r.u16(), r.u16());
  }

  /** The same question, compared the way DNS compares names: without regard to ASCII case. */
  boolean sameAs(Question other) {
    return type == other.type && qclass == other.qclass && name.text().equals(other.name.text());
  }

  void writeTo(ByteArrayOutputStream out) {
    name.writeTo(out);
    out.write(type >> 8);
    out.write(type);
    out.write(qclass >> 8);
    out.write(qclass);
  }
}
