/**
 * The sandboxes' DNS resolver, which enforces each sandbox's egress domain policy: guests send all
 * DNS here (the host NATs their port 53 to {@link dev.kiln.net.dns.DnsServer}), names are checked
 * against the client's {@link dev.kiln.net.dns.ClientPolicy} (usually built from
 * {@link dev.kiln.net.dns.DomainPattern}s), and the addresses an allowed name resolves to are
 * handed to the policy before the guest sees them, so a firewall can admit exactly those.
 *
 * <p>Every byte comes from a hostile guest. What is parsed: the 12-byte header, exactly one
 * question, and, in upstream replies, the answer section's IN A and IN CNAME records. Names are
 * bounded by RFC 1035 (labels 1-63 bytes, 255 bytes in all) and compression pointers must point
 * strictly backwards, into the message body, at most 64 times per name, so loops are impossible.
 * A query that fails these checks gets FORMERR; a packet too short for a header or with QR set is
 * dropped. Malformed packets are counted and logged at most once per 10 s.
 *
 * <p>Decisions, in order (see {@code QueryHandler}): unknown client REFUSED; local name answered
 * here; denied name NXDOMAIN, never forwarded; AAAA no data (guests are IPv4 only); everything else
 * forwarded. The query sent upstream is rebuilt from the question alone under a fresh random ID
 * and source port; a reply counts only if its ID and question match. Its bytes reach the client
 * unchanged but for the ID. A records of the question's name and of its CNAME chain (any target
 * name) go to {@link dev.kiln.net.dns.ClientPolicy#resolved} first; if that throws, SERVFAIL.
 *
 * <p>Sizes: no EDNS, so UDP replies are at most 512 bytes; a larger or upstream-truncated answer
 * becomes question plus TC, and the client retries over TCP, which is forwarded over TCP. TCP
 * messages are at most 64 KiB by their length prefix. Limits ({@code DnsLimits}): 2 s per
 * upstream, 10 s TCP idle, 64 TCP connections (8 per client), 256 UDP queries in flight (64 per
 * client); beyond them packets are dropped and connections closed. Each query runs on its own
 * virtual thread, so a slow upstream delays only the queries waiting on it.
 */
package dev.kiln.net.dns;
