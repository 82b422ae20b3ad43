package dev.kiln.net.proxy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parsed HTTP/1.x request head. Parsing is strict (RFC 9112) because the upstream is a program
 * we do not control: anything two parsers could read differently is refused rather than passed on.
 *
 * <pre>
 *   request-line = method SP origin-form SP ( "HTTP/1.1" / "HTTP/1.0" ) CRLF
 *   *( field-name ":" OWS field-value OWS CRLF )      no obs-fold, no bare CR or LF, no NUL
 *   CRLF
 * </pre>
 *
 * @param target the origin-form request target, path and query as sent
 */
record RequestHead(String method, String target, String version, List<Header> headers) {
  private static final String TCHAR = "!#$%&'*+.^_`|~0-9A-Za-z-";
  private static final Pattern REQUEST_LINE = Pattern.compile("([" + TCHAR + "]+) (/[\\x21-\\x7e]*) (HTTP/1\\.[01])");
  private static final Pattern HEADER = Pattern.compile("([" + TCHAR + "]+):[ \\t]*([\\t\\x20-\\x7e\\x80-\\xff]*?)[ \\t]*");
  private static final Pattern HOST = Pattern.compile("[A-Za-z0-9._~%!$&'()*+,;=:\\[\\]-]*");

  /** One header line; the name keeps the client's case. */
  record Header(String name, String value) {
    boolean is(String other) {
      return name.equalsIgnoreCase(other);
    }
  }

  RequestHead {
    headers = List.copyOf(headers);
  }

  /**
   * @param head the bytes up to and including the blank line
   * @throws ProxyException INVALID_REQUEST naming the first thing that is wrong
   */
  static RequestHead parse(byte[] head) throws ProxyException {
    // Messages never quote the request: a token could be anywhere in it.
    // ISO-8859-1 maps each byte to one char, so obs-text in values survives the round trip.
    String text = new String(head, StandardCharsets.ISO_8859_1);
    if (!text.endsWith("\r\n\r\n")) throw invalid("the request head does not end with an empty line");
    String[] lines = text.substring(0, text.length() - 4).split("\r\n", -1);
    Matcher line = REQUEST_LINE.matcher(lines[0]);
    if (!line.matches()) throw invalid("malformed request line: expected 'METHOD /path HTTP/1.1'");
    List<Header> headers = new ArrayList<>(lines.length - 1);
    for (int i = 1; i < lines.length; i++) {
      Matcher h = HEADER.matcher(lines[i]);
      if (!h.matches()) throw invalid("malformed header line " + i + ": expected 'Name: value'");
      headers.add(new Header(h.group(1), h.group(2)));
    }
    RequestHead r = new RequestHead(line.group(1), line.group(2), line.group(3), headers);
    r.checkFraming();
    return r;
  }

  /** The values of a header, in order; names compare without case. */
  List<String> values(String name) {
    return headers.stream().filter(h -> h.is(name)).map(Header::value).toList();
  }

  Optional<String> host() {
    return values("Host").stream().findFirst();
  }

  String path() {
    int q = target.indexOf('?');
    return q < 0 ? target : target.substring(0, q);
  }

  Optional<String> query() {
    int q = target.indexOf('?');
    return q < 0 ? Optional.empty() : Optional.of(target.substring(q + 1));
  }

  /** A WebSocket upgrade: the only upgrade the proxy lets through, see package-info. */
  boolean isWebSocketUpgrade() {
    return hasToken("Connection", "upgrade") && hasToken("Upgrade", "websocket");
  }

  private boolean hasToken(String header, String token) {
    for (String v : values(header)) {
      for (String t : v.split(",")) if (t.strip().toLowerCase(Locale.ROOT).equals(token)) return true;
    }
    return false;
  }

  // The upstream reads the body framing, we do not: refuse heads it could read two ways.
  private void checkFraming() throws ProxyException {
    List<String> host = values("Host");
    if (host.size() > 1) throw invalid("more than one Host header");
    if (host.isEmpty() && version.equals("HTTP/1.1")) throw invalid("an HTTP/1.1 request needs a Host header");
    if (!host.isEmpty() && !HOST.matcher(host.getFirst()).matches()) throw invalid("malformed Host header");
    List<String> length = values("Content-Length");
    if (!length.isEmpty() && !values("Transfer-Encoding").isEmpty()) throw invalid("both Content-Length and Transfer-Encoding");
    if (length.size() > 1 || (length.size() == 1 && !length.getFirst().matches("[0-9]{1,18}"))) throw invalid("malformed Content-Length");
  }

  private static ProxyException invalid(String message) {
    return new ProxyException(ProxyError.INVALID_REQUEST, message);
  }
}
