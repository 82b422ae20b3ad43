package dev.kiln.e2b;

import dev.kiln.api.Exchange;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.UserResolver;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;

/**
 * One envd request for one sandbox, with the user it acts as: the one the SDK names (HTTP Basic
 * with an empty password on RPCs, {@code ?username=} on /files), else the template's default user
 * as Kiln's own API has it. Relative paths are the user's home's, as in envd.
 */
record EnvdCall(Exchange exchange, String sandboxId, Optional<String> user) {
  /** The user named by the request, if any. */
  static Optional<String> userOf(Exchange x) {
    String q = x.query("username");
    if (q != null && !q.isEmpty()) return Optional.of(q);
    String auth = x.header("Authorization");
    if (auth == null || !auth.regionMatches(true, 0, "Basic ", 0, 6)) return Optional.empty();
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(auth.substring(6).strip()), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw ProtoJson.invalid("the Authorization header's Basic credentials are not base64");
    }
    String name = decoded.contains(":") ? decoded.substring(0, decoded.indexOf(':')) : decoded;
    return name.isEmpty() ? Optional.empty() : Optional.of(name);
  }

  /** The user commands run as: the one named, else the image's (empty: the agent's own, root). */
  Optional<String> effectiveUser(SandboxManager sandboxes) {
    if (user.isPresent()) return user;
    String image = sandboxes.imageConfig(sandboxId).user();
    return image.isEmpty() ? Optional.empty() : Optional.of(image);
  }

  /** An absolute path in the guest: {@code path} if absolute, else under the user's home. */
  String resolve(String path, SandboxManager sandboxes, UserResolver users) throws InterruptedException {
    if (path == null || path.isEmpty()) throw ProtoJson.invalid("a path is required");
    if (path.startsWith("/")) return path;
    Optional<String> as = effectiveUser(sandboxes);
    String home = as.isPresent() ? users.home(sandboxId, as.get()) : "/root";
    if (path.equals("~")) return home;
    return child(home, path.startsWith("~/") ? path.substring(2) : path);
  }

  /** {@code name} in directory {@code dir}. */
  static String child(String dir, String name) {
    return (dir.endsWith("/") ? dir : dir + "/") + name;
  }
}
