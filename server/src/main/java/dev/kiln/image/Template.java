package dev.kiln.image;

import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/** A template: a named, read-only root filesystem image that sandboxes boot from. */
public record Template(String name, Status status, String source, Optional<Path> rootfs, OptionalLong rootfsBytes,
    Optional<String> error, Instant createdAt, Instant updatedAt) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  public enum Status { BUILDING, READY, FAILED }

  /** Template names appear in paths and URLs: lowercase letters, digits, '.', '_', '-'; 1-63 chars. */
  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("template name must match " + NAME.pattern() + ", got '" + name + "'");
    }
    return name;
  }
}
