package dev.kiln.image;

import java.nio.file.Path;

/** Where a template's root filesystem comes from. OCI images will be another permitted source. */
public sealed interface TemplateSource {
  /** A directory on the daemon's host holding a complete root filesystem. */
  record Directory(Path path) implements TemplateSource {
    public Directory {
      if (!path.isAbsolute()) throw new IllegalArgumentException("template directory must be an absolute path, got " + path);
    }
  }

  /** Human-readable form, stored with the template. */
  default String describe() {
    return switch (this) {
      case Directory d -> "dir:" + d.path();
    };
  }
}
