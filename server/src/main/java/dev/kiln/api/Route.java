package dev.kiln.api;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** A method and a path template such as {@code /v1/sandboxes/{id}/files}, with its handler. */
public record Route(String method, String template, Handler handler) {
  public interface Handler {
    void handle(Exchange x) throws Exception;
  }

  /** The path parameters if {@code path} matches this route's template. */
  public Optional<Map<String, String>> match(String path) {
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
