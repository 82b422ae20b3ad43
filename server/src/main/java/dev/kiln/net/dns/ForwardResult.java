package dev.kiln.net.dns;

import java.util.List;

/** What asking the upstreams gave, as far as the client is concerned. */
sealed interface ForwardResult permits ForwardResult.Answered, ForwardResult.Truncated, ForwardResult.Failed {
  /** A complete reply (any rcode): its bytes, still under our upstream ID, and its A records. */
  record Answered(byte[] reply, Answers answers) implements ForwardResult {}

  /** The upstream set TC: the answer did not fit its UDP reply. */
  record Truncated() implements ForwardResult {}

  /** No upstream gave a usable reply; one reason per upstream. */
  record Failed(List<String> reasons) implements ForwardResult {}

  /** True when {@code reply} is the response to the query we sent as {@code id} for {@code q}; never throws. */
  static boolean answers(byte[] reply, int id, Question q) {
    if (reply.length < WireReader.HEADER_SIZE) return false;
    Header h = Header.of(reply);
    try {
      WireReader r = new WireReader(reply, WireReader.HEADER_SIZE);
      return h.id() == id && h.isResponse() && h.opcode() == 0 && h.qdcount() == 1 && Question.read(r).sameAs(q);
    } catch (DnsFormatException e) {
      return false;
    }
  }

  /** Reads a reply for which {@link #answers} holds; its answer section must be well formed. */
  static ForwardResult read(byte[] reply, Question q) throws DnsFormatException {
    Header h = Header.of(reply);
    if (h.truncated()) return new Truncated();
    WireReader r = new WireReader(reply, WireReader.HEADER_SIZE);
    Question.read(r);
    return new Answered(reply, Answers.read(r, h.ancount(), q.name()));
  }
}
