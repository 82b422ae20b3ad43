package dev.kiln.image.oci;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/** A pointer to content: media type, digest, size, and for index entries the platform. */
public record Descriptor(String mediaType, Digest digest, long size, Optional<Platform> platform) {
  /** The largest manifest or config we accept; real ones are a few KiB. */
  static final long MAX_METADATA_BYTES = 4L << 20;

  static Descriptor from(JsonNode n, String where) {
    JsonNode digest = n.path("digest");
    JsonNode size = n.path("size");
    if (!digest.isTextual() || !size.canConvertToLong() || size.asLong() < 0) {
      throw new IllegalArgumentException(where + ": descriptor without a valid digest and size");
    }
    JsonNode p = n.path("platform");
    Optional<Platform> platform = p.isObject()
        ? Optional.of(new Platform(p.path("os").asText(""), p.path("architecture").asText(""), p.path("variant").asText("")))
        : Optional.empty();
    return new Descriptor(n.path("mediaType").asText(""), Digest.parse(digest.asText()), size.asLong(), platform);
  }

  public record Platform(String os, String architecture, String variant) {
    public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", "");

    boolean matches(Platform want) {
      return os.equals(want.os) && architecture.equals(want.architecture);
    }

    @Override
    public String toString() {
      return os + "/" + architecture + (variant.isEmpty() ? "" : "/" + variant);
    }
  }
}
