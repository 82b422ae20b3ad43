package dev.kiln.image;

import dev.kiln.image.oci.ImageConfig;
import dev.kiln.vmm.Machine;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * A template: a named, read-only root filesystem image that sandboxes boot from, with the image
 * config (environment, working directory, user) that becomes the default for exec in them, and the
 * machine its snapshot is taken on: its sandboxes' machine unless they ask for another.
 *
 * @param owner   the user key that built it, or {@link TemplateService#OPERATOR} for the operator's
 * @param runtime its start command, readiness check and sandbox defaults (a Dockerfile build's)
 * @param version which build of the name this is (1, 2, …; 0 for a template built before versions)
 */
public record Template(String name, Status status, String source, Optional<Path> rootfs, OptionalLong rootfsBytes,
    Optional<String> error, Instant createdAt, Instant updatedAt, Optional<String> imageDigest, ImageConfig config, long freeSpaceMib,
    Machine machine, String owner, TemplateRuntime runtime, int version) {
  /** Whether a key may see and use it: its own, and the operator's; an admin key sees all. */
  public boolean visibleTo(String key, boolean admin) {
    return admin || owner.equals(TemplateService.OPERATOR) || owner.equals(key);
  }

  private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  /** How sandboxes name the image they were made from: NAME:VERSION, or NAME for a template built before versions. */
  public String ref() {
    return version > 0 ? name + ":" + version : name;
  }

  /** NAME or NAME:VERSION as a user writes it: the name, and the version (0: the latest). */
  public record Ref(String name, int version) {
    public static Ref parse(String ref) {
      if (ref == null) throw new IllegalArgumentException("template name must match " + NAME.pattern() + ", got 'null'");
      int colon = ref.lastIndexOf(':');
      if (colon < 0) return new Ref(validName(ref), 0);
      String v = ref.substring(colon + 1);
      if (!v.matches("[1-9][0-9]{0,8}")) throw new IllegalArgumentException("a template version is a number from 1, as in NAME:3, got '" + ref + "'");
      return new Ref(validName(ref.substring(0, colon)), Integer.parseInt(v));
    }
  }

  /**
   * The build pipeline in order. SNAPSHOTTING: built, and its snapshot is being taken (when the
   * daemon takes template snapshots); sandboxes can be created, but they boot instead of restoring.
   * READY: usable at full speed (or, with snapshots off or failed, as fast as it will get).
   */
  public enum Status { QUEUED, PULLING, UNPACKING, BUILDING, SNAPSHOTTING, READY, FAILED }

  /** Built: sandboxes can be made from it (READY, or SNAPSHOTTING: booted rather than restored until its snapshot is there). */
  public boolean built() {
    return built(status, rootfs.isPresent());
  }

  /** Whether a template in {@code status}, with or without an image, is built. */
  static boolean built(Status status, boolean hasImage) {
    return (status == Status.READY || status == Status.SNAPSHOTTING) && hasImage;
  }

  /** Template names appear in paths and URLs: lowercase letters, digits, '.', '_', '-'; 1-63 chars. */
  public static String validName(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("template name must match " + NAME.pattern() + ", got '" + name + "'");
    }
    return name;
  }
}
