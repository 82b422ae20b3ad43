package dev.kiln.image.oci;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An image reference parsed the way Docker does: {@code python:3.12-slim} is
 * {@code docker.io/library/python:3.12-slim}; a first component with a '.' or ':' or equal to
 * {@code localhost} is a registry host; a reference without tag or digest means {@code :latest}.
 */
public record ImageReference(String registry, String repository, Optional<String> tag, Optional<Digest> digest) {
  public static final String DOCKER_HUB = "docker.io";
  private static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  private static final Pattern TAG = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  private static final Pattern HOST = Pattern.compile("(?:[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]{1,5})?");

  public static ImageReference parse(String s) {
    if (s == null || s.isBlank()) throw new IllegalArgumentException("empty image reference");
    String rest = s.strip();
    Optional<Digest> digest = Optional.empty();
    int at = rest.indexOf('@');
    if (at >= 0) {
      digest = Optional.of(Digest.parse(rest.substring(at + 1)));
      rest = rest.substring(0, at);
    }
    Optional<String> tag = Optional.empty();
    int colon = rest.lastIndexOf(':');
    if (colon > rest.lastIndexOf('/')) {
      tag = Optional.of(rest.substring(colon + 1));
      rest = rest.substring(0, colon);
      if (!TAG.matcher(tag.get()).matches()) throw new IllegalArgumentException("invalid tag '" + tag.get() + "' in image reference '" + s + "'");
    }
    String registry = DOCKER_HUB;
    int slash = rest.indexOf('/');
    if (slash > 0) {
      String first = rest.substring(0, slash);
      if (first.contains(".") || first.contains(":") || first.equals("localhost")) {
        if (!HOST.matcher(first).matches()) throw new IllegalArgumentException("invalid registry host '" + first + "' in '" + s + "'");
        registry = first;
        rest = rest.substring(slash + 1);
      }
    }
    if (registry.equals(DOCKER_HUB) && !rest.contains("/")) rest = "library/" + rest;
    for (String component : rest.split("/", -1)) {
      if (!COMPONENT.matcher(component).matches()) {
        throw new IllegalArgumentException("invalid repository name '" + rest + "' in image reference '" + s + "' (lowercase letters, digits, separators)");
      }
    }
    if (tag.isEmpty() && digest.isEmpty()) tag = Optional.of("latest");
    return new ImageReference(registry, rest, tag, digest);
  }

  /** The host the registry API is served from (Docker Hub's API host differs from its name). */
  public String apiHost() {
    return registry.equals(DOCKER_HUB) ? "registry-1.docker.io" : registry;
  }

  /** What goes after /manifests/: the digest when pinned, else the tag. */
  public String manifestReference() {
    return digest.map(Digest::toString).orElseGet(tag::orElseThrow);
  }

  public ImageReference withDigest(Digest d) {
    return new ImageReference(registry, repository, tag, Optional.of(d));
  }

  @Override
  public String toString() {
    return registry + "/" + repository + tag.map(t -> ":" + t).orElse("") + digest.map(d -> "@" + d).orElse("");
  }
}
