package dev.kiln.api;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** A method and a path template such as {@code /v1/sandboxes/{id}/files}, with its handler. */
public record Route(String method, String template, Handler handler) {
  public interface Handler {
    void handle(Exchange x) throws Exception;
  }

  /**
   * Which of {@code routes} serves a request: the route and its path parameters, or none, and then
   * whether another method would have been served on that path (405 rather than 404).
   */
  public record Match(Optional<Route> route, Map<String, String> params, boolean pathKnown) {
    public static Match of(java.util.List<Route> routes, String method, String path) {
      boolean pathKnown = false;
      for (Route r : routes) {
        Optional<Map<String, String>> m = r.match(path);
        if (m.isEmpty()) continue;
        pathKnown = true;
        if (r.method().equals(method)) return new Match(Optional.of(r), m.get(), true);
      }
      return new Match(Optional.empty(), Map.of(), pathKnown);
    }

    /** The error for a request no route serves: METHOD_NOT_ALLOWED on a known path, else ROUTE_NOT_FOUND naming {@code api}'s routes. */
    public dev.kiln.error.KilnException unserved(String api, String method, String path) {
      return pathKnown ? new dev.kiln.error.KilnException(dev.kiln.error.ErrorCode.METHOD_NOT_ALLOWED, method + " is not allowed on " + path)
          : new dev.kiln.error.KilnException(dev.kiln.error.ErrorCode.ROUTE_NOT_FOUND, "no " + api + " route " + method + " " + path);
    }
  }

  /** The path parameters if {@code path} matches this route's template. */
  Optional<Map<String, String>> match(String path) {
    String[] want = template.split("/", -1);
    String[] got = path.split("/", -1);
    if (want.length != got.length) return Optional.empty();
    Map<String, String> params = new HashMap<>();
    for (int i = 0; i < want.length; i++) {
      if (want[i].startsWith("{") && want[i].endsWith("}")) {
        if (got[i].isEmpty()) return Optional.empty();
        params.put(want[i].substring(1, want[i].length() - 1), got[i]);
      } else if (!want[i].equals(got[i])) {
        return Optional.empty();
      }
    }
    return Optional.of(params);
  }
}
