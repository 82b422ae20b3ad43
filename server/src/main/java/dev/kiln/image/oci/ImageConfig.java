package dev.kiln.image.oci;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of an image's config that shape how commands run in its sandboxes: they become the
 * defaults for exec (environment, working directory, user) and record the image's own command.
 */
public record ImageConfig(List<String> env, List<String> entrypoint, List<String> cmd, String workingDir, String user,
    String os, String architecture) {
  public static final ImageConfig NONE = new ImageConfig(List.of(), List.of(), List.of(), "", "", "linux", "amd64");

  /** Env as a map, in order ("K=V" entries; one without a name is not an assignment and is left out). */
  public java.util.Map<String, String> envMap() {
    java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
    for (String kv : env) {
      int eq = kv.indexOf('=');
      if (eq > 0) m.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
    return m;
  }

  static ImageConfig parse(byte[] blob, String where) {
    JsonNode root;
    try {
      root = ManifestDocument.JSON.readTree(blob);
    } catch (IOException e) {
      throw new IllegalArgumentException(where + ": image config is not JSON: " + e.getMessage());
    }
    JsonNode c = root.path("config");
    return new ImageConfig(strings(c.path("Env")), strings(c.path("Entrypoint")), strings(c.path("Cmd")),
        c.path("WorkingDir").asText(""), c.path("User").asText(""), root.path("os").asText(""), root.path("architecture").asText(""));
  }

  private static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    for (JsonNode s : n) out.add(s.asText());
    return List.copyOf(out);
  }
}
