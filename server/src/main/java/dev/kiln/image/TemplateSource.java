package dev.kiln.image;

import dev.kiln.image.oci.Credentials;
import dev.kiln.image.oci.ImageReference;
import java.nio.file.Path;
import java.util.Optional;

/** Where a template's root filesystem comes from. */
public sealed interface TemplateSource {
  /** A directory on the daemon's host holding a complete root filesystem. */
  record Directory(Path path) implements TemplateSource {
    public Directory {
      if (!path.isAbsolute()) throw new IllegalArgumentException("template directory must be an absolute path, got " + path);
    }
  }

  /** An image in a registry; credentials from the request, else from the daemon's Docker config. */
  record Image(ImageReference ref, Optional<Credentials> credentials) implements TemplateSource {}

  /** An OCI image layout directory on the daemon's host ({@code oci:/path[:tag]}). */
  record OciLayout(Path dir, Optional<String> tag) implements TemplateSource {
    public OciLayout {
      if (!dir.isAbsolute()) throw new IllegalArgumentException("OCI layout must be an absolute path, got " + dir);
    }
  }

  /**
   * A Dockerfile built in microVMs ({@code dev.kiln.build}): its context received into
   * {@code context} (which the build owns and removes), the Dockerfile's path in it, the build
   * arguments, and what the request sets of the template's runtime (overriding the Dockerfile's).
   */
  record Dockerfile(Path context, String dockerfile, java.util.Map<String, String> buildArgs, BuildOptions options) implements TemplateSource {
    public Dockerfile {
      buildArgs = java.util.Map.copyOf(buildArgs);
    }
  }

  /**
   * Parses what a user types: {@code oci:/path[:tag]}, {@code dir:/path}, or an image reference
   * ({@code python:3.12-slim}, {@code registry:5000/team/app@sha256:…}).
   */
  static TemplateSource parse(String s, Optional<Credentials> credentials) {
    if (s.startsWith("dir:")) return new Directory(Path.of(s.substring(4)));
    if (s.startsWith("oci:")) {
      String rest = s.substring(4);
      int colon = rest.lastIndexOf(':');
      return colon > rest.lastIndexOf('/') ? new OciLayout(Path.of(rest.substring(0, colon)), Optional.of(rest.substring(colon + 1)))
          : new OciLayout(Path.of(rest), Optional.empty());
    }
    return new Image(ImageReference.parse(s.startsWith("docker://") ? s.substring("docker://".length()) : s), credentials);
  }

  /** Human-readable form, stored with the template. */
  default String describe() {
    return switch (this) {
      case Directory d -> "dir:" + d.path();
      case Image i -> "docker://" + i.ref();
      case OciLayout o -> "oci:" + o.dir() + o.tag().map(t -> ":" + t).orElse("");
      case Dockerfile d -> "dockerfile:" + d.dockerfile();
    };
  }
}
