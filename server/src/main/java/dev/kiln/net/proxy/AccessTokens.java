package dev.kiln.net.proxy;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * The sandbox access token in a request: where a client may put it, checking it, and taking it
 * out of what the sandbox sees (the sandbox runs untrusted code and must not learn the token).
 */
final class AccessTokens {
  static final String HEADER = "X-Kiln-Access-Token";
  /** E2B's name for the same header (its SDK hands the token out as trafficAccessToken); docs/e2b.md. */
  static final String E2B_HEADER = "e2b-traffic-access-token";
  /** The query parameter and the cookie; a browser following a link with it can then keep it in a cookie. */
  static final String PARAM = "kiln_token";

  private AccessTokens() {}

  /**
   * The token the client presented: the header (Kiln's or E2B's name for it), else the query
   * parameter, else the cookie.
   *
   * @throws ProxyException INVALID_REQUEST when the header or the parameter appears twice
   */
  static Optional<String> presented(RequestHead head) throws ProxyException {
    List<String> header = new ArrayList<>(head.values(HEADER));
    header.addAll(head.values(E2B_HEADER));
    if (header.size() > 1) throw new ProxyException(ProxyError.INVALID_REQUEST, "more than one " + HEADER + " (or " + E2B_HEADER + ") header");
    if (header.size() == 1) return Optional.of(header.getFirst());
    List<String> param = new ArrayList<>();
    for (String pair : head.query().map(q -> q.split("&")).orElse(new String[0])) {
      if (pair.startsWith(PARAM + "=")) param.add(decode(pair.substring(PARAM.length() + 1)));
    }
    if (param.size() > 1) throw new ProxyException(ProxyError.INVALID_REQUEST, "more than one " + PARAM + " query parameter");
    if (param.size() == 1) return Optional.of(param.getFirst());
    for (String cookie : head.values("Cookie")) {
      for (String pair : cookie.split(";")) {
        String p = pair.strip();
        if (p.startsWith(PARAM + "=")) return Optional.of(p.substring(PARAM.length() + 1));
      }
    }
    return Optional.empty();
  }

  /**
   * Lets the request through to {@code target} or says why not.
   *
   * @throws ProxyException UNAUTHORIZED without a token, FORBIDDEN with the wrong one
   */
  static void check(ProxyTarget target, Optional<String> presented) throws ProxyException {
    if (target.accessToken().isEmpty()) return;
    if (presented.isEmpty())
      throw new ProxyException(ProxyError.UNAUTHORIZED,
          "this sandbox port needs an access token: header " + HEADER + ", query parameter " + PARAM + " or cookie " + PARAM);
    if (!sameSecret(target.accessToken().get(), presented.get()))
      throw new ProxyException(ProxyError.FORBIDDEN, "the access token is not the one of this sandbox");
  }

  /** The query without {@code kiln_token}; empty when nothing else was in it. */
  static Optional<String> queryWithout(Optional<String> query) {
    if (query.isEmpty() || !("&" + query.get()).contains("&" + PARAM + "=")) return query;
    return Optional.of(keep(query.get().split("&"), "&", p -> !p.startsWith(PARAM + "="))).filter(q -> !q.isEmpty());
  }

  /** A Cookie header value without the {@code kiln_token} pair; empty when nothing else was in it. */
  static Optional<String> cookieWithout(String cookie) {
    String rest = keep(cookie.split(";"), "; ", p -> !p.strip().startsWith(PARAM + "=") && !p.isBlank());
    return rest.isEmpty() ? Optional.empty() : Optional.of(rest);
  }

  private static String keep(String[] parts, String joiner, Predicate<String> keep) {
    List<String> kept = new ArrayList<>();
    for (String p : parts) if (keep.test(p)) kept.add(p.strip());
    return String.join(joiner, kept);
  }

  // Digests first: MessageDigest.isEqual is constant time only for equal lengths, and hashing
  // hides the expected token's length as well.
  static boolean sameSecret(String expected, String presented) {
    try {
      MessageDigest a = MessageDigest.getInstance("SHA-256");
      MessageDigest b = MessageDigest.getInstance("SHA-256");
      return MessageDigest.isEqual(a.digest(expected.getBytes(StandardCharsets.UTF_8)), b.digest(presented.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  private static String decode(String value) throws ProxyException {
    try {
      return URLDecoder.decode(value, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new ProxyException(ProxyError.INVALID_REQUEST, "malformed percent-encoding in the " + PARAM + " query parameter");
    }
  }
}
