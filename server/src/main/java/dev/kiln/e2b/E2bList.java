package dev.kiln.e2b;

import dev.kiln.api.Exchange;
import dev.kiln.sandbox.Sandbox;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * E2B's sandbox list: filtered by state ({@code running,paused}) and metadata (a query string of
 * its own, {@code k=v&k2=v2}, as the SDK encodes it), oldest first, a page of {@code limit} at a
 * time with the next page's token in the {@code x-next-token} header.
 */
final class E2bList {
  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 1000;
  private static final String NEXT_TOKEN = "x-next-token";

  private E2bList() {}

  /** {@code runningOnly}: the v1 list, which shows running sandboxes alone. */
  static void answer(Exchange x, List<Sandbox> visible, boolean runningOnly, E2bViews views) throws Exception {
    Set<String> states = runningOnly ? Set.of("running") : states(x.query("state"));
    Map<String, String> metadata = metadata(x.query("metadata"));
    List<Sandbox> matching = visible.stream()
        .filter(s -> states.contains(E2bViews.state(s)))
        .filter(s -> metadata.entrySet().stream().allMatch(e -> e.getValue().equals(s.metadata().get(e.getKey()))))
        .toList();
    // One page, oldest first, from the position nextToken names; the next page's token in x-next-token.
    int limit = limit(x.query("limit"));
    String after = token(x.query("nextToken"));
    List<Sandbox> rest = matching.stream().filter(s -> after == null || key(s).compareTo(after) > 0).sorted(Comparator.comparing(E2bList::key)).toList();
    List<Sandbox> page = rest.subList(0, Math.min(limit, rest.size()));
    if (rest.size() > page.size()) {
      x.setHeader(NEXT_TOKEN, Base64.getUrlEncoder().withoutPadding().encodeToString(key(page.getLast()).getBytes(StandardCharsets.UTF_8)));
    }
    x.json(200, page.stream().map(views::listed).toList());
  }

  /** A position in the order that survives deletes: the creation time (zero-padded millis) and the id. */
  private static String key(Sandbox s) {
    return String.format("%015d", s.createdAt().toEpochMilli()) + "/" + s.id();
  }

  private static Set<String> states(String q) {
    if (q == null || q.isBlank()) return Set.of("running", "paused");
    Set<String> out = new java.util.HashSet<>();
    for (String s : q.split(",")) {
      String t = s.strip();
      if (!t.equals("running") && !t.equals("paused")) throw ProtoJson.invalid("state must be running and/or paused, got '" + t + "'");
      out.add(t);
    }
    return out;
  }

  /** The metadata filter: the SDK sends {@code metadata=<k=v&k2=v2>}, each part URI-encoded once more. */
  private static Map<String, String> metadata(String q) {
    Map<String, String> out = new HashMap<>();
    if (q == null || q.isBlank()) return out;
    for (String pair : q.split("&")) {
      if (pair.isEmpty()) continue;
      int eq = pair.indexOf('=');
      if (eq <= 0) throw ProtoJson.invalid("metadata must be key=value pairs joined by '&', got '" + pair + "'");
      try {
        out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8), URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        throw ProtoJson.invalid("metadata holds a malformed escape in '" + pair + "'");
      }
    }
    return out;
  }

  private static int limit(String q) {
    if (q == null) return DEFAULT_LIMIT;
    if (!q.matches("\\d{1,6}") || Integer.parseInt(q) < 1 || Integer.parseInt(q) > MAX_LIMIT) {
      throw ProtoJson.invalid("limit must be 1.." + MAX_LIMIT + ", got '" + q + "'");
    }
    return Integer.parseInt(q);
  }

  private static String token(String q) {
    if (q == null || q.isEmpty()) return null;
    try {
      return new String(Base64.getUrlDecoder().decode(q), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw ProtoJson.invalid("nextToken is not one this API gave");
    }
  }
}
