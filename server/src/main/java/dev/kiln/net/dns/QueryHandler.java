package dev.kiln.net.dns;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns one query from a guest into the reply it gets, or into none. The order of decisions:
 *
 * <ol>
 *   <li>shorter than a header, or a response rather than a query: dropped (nothing to answer, and
 *       answering responses would let two resolvers loop)
 *   <li>opcode other than QUERY: NOTIMP; not exactly one question, records in the answer or
 *       authority section, or an unreadable question: FORMERR; class other than IN, zone transfer:
 *       NOTIMP
 *   <li>source not a known sandbox: REFUSED
 *   <li>a local name: answered here (A records; no data for any other type)
 *   <li>a name the policy denies: NXDOMAIN, never sent upstream
 *   <li>AAAA: no data, since guests have IPv4 only and waiting on it delays happy eyeballs
 *   <li>anything else: forwarded; the policy hears the A records before the client does
 * </ol>
 *
 * The additional section (EDNS, cookies) is not read: the query we send upstream is rebuilt from
 * the question alone, so nothing else a guest wrote ever leaves the host.
 */
final class QueryHandler {
  private static final Logger log = LoggerFactory.getLogger(QueryHandler.class);

  private final ClientDirectory clients;
  private final Forwarder forwarder;
  private final RateLimitedLog malformed;
  private final RateLimitedLog failures;

  QueryHandler(ClientDirectory clients, Forwarder forwarder, RateLimitedLog malformed, RateLimitedLog failures) {
    this.clients = clients;
    this.forwarder = forwarder;
    this.malformed = malformed;
    this.failures = failures;
  }

  /** The reply for {@code packet}, at most {@code transport.maxReply} bytes; empty to drop it. Never throws. */
  Optional<byte[]> handle(byte[] packet, InetAddress source, Transport transport) {
    if (packet.length < WireReader.HEADER_SIZE) {
      malformed.record(source, "packet of " + packet.length + " bytes, shorter than a header");
      return Optional.empty();
    }
    Header h = Header.of(packet);
    if (h.isResponse()) {
      malformed.record(source, "a response where a query was expected");
      return Optional.empty();
    }
    if (h.opcode() != 0) return Optional.of(Messages.error(h, null, Rcode.NOTIMP));
    if (h.qdcount() != 1 || h.ancount() != 0 || h.nscount() != 0) {
      malformed.record(source, "query with counts " + h.qdcount() + "/" + h.ancount() + "/" + h.nscount() + ", expected 1/0/0");
      return Optional.of(Messages.error(h, null, Rcode.FORMERR));
    }
    Question q;
    try {
      q = Question.read(new WireReader(packet, WireReader.HEADER_SIZE));
    } catch (DnsFormatException e) {
      malformed.record(source, e.getMessage());
      return Optional.of(Messages.error(h, null, Rcode.FORMERR));
    }
    if (q.qclass() != Question.IN || q.type() == Question.AXFR || q.type() == Question.IXFR) {
      return Optional.of(Messages.error(h, q, Rcode.NOTIMP));
    }
    byte[] reply;
    try {
      reply = resolve(h, q, source, transport);
    } catch (RuntimeException e) {
      failures.record(source, "policy failed for " + q.name().text() + ": " + e);
      reply = Messages.error(h, q, Rcode.SERVFAIL);
    }
    return Optional.of(reply.length <= transport.maxReply ? reply : Messages.truncated(h, q));
  }

  private byte[] resolve(Header h, Question q, InetAddress source, Transport transport) {
    String name = q.name().text();
    Optional<ClientPolicy> client = clients.find(source);
    if (client.isEmpty()) return decided(source, q, "refused-unknown-client", Messages.error(h, q, Rcode.REFUSED));
    ClientPolicy policy = client.get();
    Optional<List<Inet4Address>> local = policy.localAnswer(name);
    if (local.isPresent()) {
      return decided(source, q, "local", Messages.answer(h, q, q.type() == Question.A ? local.get() : List.of()));
    }
    if (!policy.allows(name)) {
      policy.denied(name);
      return decided(source, q, "denied", Messages.error(h, q, Rcode.NXDOMAIN));
    }
    if (q.type() == Question.AAAA) return decided(source, q, "no-ipv6", Messages.answer(h, q, List.of()));
    return switch (forwarder.forward(q, transport)) {
      case ForwardResult.Failed f -> {
        failures.record(source, "no upstream answered " + name + ": " + f.reasons());
        yield decided(source, q, "upstream-failed", Messages.error(h, q, Rcode.SERVFAIL));
      }
      case ForwardResult.Truncated t -> decided(source, q, "truncated", Messages.truncated(h, q));
      case ForwardResult.Answered a when a.reply().length > transport.maxReply ->
          decided(source, q, "truncated", Messages.truncated(h, q));
      case ForwardResult.Answered a -> {
        List<Inet4Address> addresses = a.answers().addresses();
        if (!addresses.isEmpty()) {
          try {
            policy.resolved(name, addresses, a.answers().minTtlSeconds());
          } catch (RuntimeException e) {
            failures.record(source, "admitting " + addresses + " for " + name + " failed: " + e);
            yield decided(source, q, "admit-failed", Messages.error(h, q, Rcode.SERVFAIL));
          }
        }
        yield decided(source, q, "forwarded", Messages.withId(a.reply(), h.id()));
      }
    };
  }

  private static byte[] decided(InetAddress source, Question q, String decision, byte[] reply) {
    log.debug("dns query client={} name={} type={} decision={}", source.getHostAddress(), q.name().text(), q.type(), decision);
    return reply;
  }
}
