package dev.kiln.image;

import dev.kiln.image.oci.ImageConfig;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * A template: a named, read-only root filesystem image that sandboxes boot from, with the image
 * config (environment, working directory, user) that becomes the default for exec in them.
 */
public record Template(String name, Status status, String source, Optional<Path> rootfs, OptionalLong rootfsBytes,
    Optional<String> error, Instant createdAt, Instant updatedAt, Optional<String> imageDigest, ImageConfig config, long freeSpaceMib) {
  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  /** The build pipeline in order; a template is usable only when READY. */
  public enum Status { QUEUED, PULLING, UNPACKING, BUILDING, READY, FAILED }

  /** Template names appear in paths and URLs: lowercase letters, digits, '.', '_', '-'; 1-63 chars. */
  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("template name must match " + NAME.pattern() + ", got '" + name + "'");
    }
    return name;
  }
}
