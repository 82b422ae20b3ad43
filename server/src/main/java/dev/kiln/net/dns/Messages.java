package dev.kiln.net.dns;

import java.io.ByteArrayOutputStream;
import java.net.Inet4Address;
import java.util.List;

/** Builds the messages the resolver sends: upstream queries and its own replies. */
final class Messages {
  /** Names the daemon answers itself belong to peers that come and go; clients re-ask soon. */
  static final int LOCAL_TTL_SECONDS = 5;

  private Messages() {}

  /** A recursive query for {@code q} under our own {@code id}, without EDNS or anything the client added. */
  static byte[] query(int id, Question q) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(WireReader.HEADER_SIZE + WireReader.MAX_NAME_WIRE + 4);
    header(out, id, Header.RD, 1, 0);
    q.writeTo(out);
    return out.toByteArray();
  }

  /** A reply without records; {@code q} is null when the query's question could not be read. */
  static byte[] error(Header query, Question q, Rcode rcode) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(WireReader.HEADER_SIZE + WireReader.MAX_NAME_WIRE + 4);
    header(out, query.id(), replyFlags(query) | rcode.code, q == null ? 0 : 1, 0);
    if (q != null) q.writeTo(out);
    return out.toByteArray();
  }

  /**
   * The reply to a truncated answer: the question and TC, no records, so the client asks again
   * over TCP (RFC 7766 5).
   */
  static byte[] truncated(Header query, Question q) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(WireReader.HEADER_SIZE + WireReader.MAX_NAME_WIRE + 4);
    header(out, query.id(), replyFlags(query) | Header.TC, 1, 0);
    q.writeTo(out);
    return out.toByteArray();
  }

  /** An authoritative answer with these A records (none: NOERROR without data). */
  static byte[] answer(Header query, Question q, List<Inet4Address> addresses) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    header(out, query.id(), replyFlags(query) | Header.AA, 1, addresses.size());
    q.writeTo(out);
    for (Inet4Address a : addresses) {
      out.write(0xC0); // owner: a pointer to the question's name, which starts right after the header
      out.write(WireReader.HEADER_SIZE);
      u16(out, Question.A);
      u16(out, Question.IN);
      u16(out, 0);
      u16(out, LOCAL_TTL_SECONDS);
      u16(out, 4);
      out.writeBytes(a.getAddress());
    }
    return out.toByteArray();
  }

  /** The upstream's reply as it came, under the client's ID. */
  static byte[] withId(byte[] reply, int id) {
    byte[] out = reply.clone();
    out[0] = (byte) (id >> 8);
    out[1] = (byte) id;
    return out;
  }

  /** QR, the query's opcode and RD, and RA: this server recurses for its clients. */
  private static int replyFlags(Header query) {
    return Header.QR | (query.flags() & (0x7800 | Header.RD)) | Header.RA;
  }

  private static void header(ByteArrayOutputStream out, int id, int flags, int qdcount, int ancount) {
    u16(out, id);
    u16(out, flags);
    u16(out, qdcount);
    u16(out, ancount);
    u16(out, 0);
    u16(out, 0);
  }

  private static void u16(ByteArrayOutputStream out, int v) {
    out.write(v >> 8);
    out.write(v);
  }
}
