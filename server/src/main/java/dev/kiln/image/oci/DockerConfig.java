package dev.kiln.image.oci;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Credentials from a Docker client config ({@code $DOCKER_CONFIG/config.json} or
 * {@code ~/.docker/config.json}), the {@code auths} section: the file users already have after
 * {@code docker login}. Credential helpers are not run (they are programs; the daemon does not
 * execute what a config file names).
 */
public final class DockerConfig {
  private static final Set<String> HUB_ALIASES = Set.of("docker.io", "index.docker.io", "registry-1.docker.io");
  private final Path file;

  public DockerConfig(Path file) {
    this.file = file;
  }

  public static DockerConfig standard() {
    String dir = System.getenv("DOCKER_CONFIG");
    return new DockerConfig(dir != null ? Path.of(dir, "config.json") : Path.of(System.getProperty("user.home"), ".docker", "config.json"));
  }

  public Optional<Credentials> lookup(String registry) {
    if (!Files.isRegularFile(file)) return Optional.empty();
    JsonNode auths;
    try {
      auths = ManifestDocument.JSON.readTree(Files.readAllBytes(file)).path("auths");
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read Docker config " + file + ": " + e.getMessage());
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = auths.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (sameRegistry(hostOf(e.getKey()), registry)) return decode(e.getValue(), e.getKey());
    }
    return Optional.empty();
  }

  private static boolean sameRegistry(String a, String b) {
    return a.equals(b) || (HUB_ALIASES.contains(a) && HUB_ALIASES.contains(b));
  }

  /** Keys are "host[:port]" or a URL like "https://index.docker.io/v1/". */
  private static String hostOf(String key) {
    String k = key.replaceFirst("^[a-z]+://", "");
    int slash = k.indexOf('/');
    return slash >= 0 ? k.substring(0, slash) : k;
  }

  private Optional<Credentials> decode(JsonNode entry, String key) {
    String auth = entry.path("auth").asText("");
    if (!auth.isEmpty()) {
      String plain;
      try {
        plain = new String(Base64.getDecoder().decode(auth), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("the auth entry for " + key + " in " + file + " is not base64");
      }
      int colon = plain.indexOf(':');
      if (colon <= 0) throw new IllegalArgumentException("the auth entry for " + key + " in " + file + " is not user:password");
      return Optional.of(new Credentials(plain.substring(0, colon), plain.substring(colon + 1)));
    }
    String user = entry.path("username").asText("");
    return user.isEmpty() ? Optional.empty() : Optional.of(new Credentials(user, entry.path("password").asText("")));
  }
}
