package dev.kiln.image.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/** What a manifest URL or an OCI layout's index points at: an image manifest or an index of them. */
public sealed interface ManifestDocument {
  ObjectMapper JSON = new ObjectMapper();

  /** An image index (OCI) or manifest list (Docker): one manifest per platform. */
  record Index(List<Descriptor> manifests) implements ManifestDocument {
    /** The linux/amd64 entry; the error lists what the image offers instead. */
    public Descriptor select(Descriptor.Platform want, String image) {
      for (Descriptor d : manifests) {
        if (d.platform().map(p -> p.matches(want)).orElse(false)) return d;
      }
      String offered = manifests.stream().map(d -> d.platform().map(Descriptor.Platform::toString).orElse("unknown"))
          .collect(Collectors.joining(", "));
      throw new IllegalArgumentException("image " + image + " has no " + want + " manifest (it offers: " + (offered.isEmpty() ? "nothing" : offered) + ")");
    }
  }

  /** One image: its config blob and its layers, bottom first. */
  record Manifest(Descriptor config, List<Descriptor> layers) implements ManifestDocument {}

  /**
   * Parses a manifest or index. The media type comes from the document, else from the HTTP
   * Content-Type; Docker's schema 1 and unknown types are refused with a message that says so.
   */
  static ManifestDocument parse(byte[] body, String contentType, String where) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      throw new IllegalArgumentException(where + ": manifest is not JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) throw new IllegalArgumentException(where + ": manifest is not a JSON object");
    String type = root.path("mediaType").asText("");
    if (type.isEmpty()) type = contentType == null ? "" : contentType.split(";")[0].strip();
    if (type.isEmpty()) type = root.has("manifests") ? MediaTypes.OCI_INDEX : root.has("layers") ? MediaTypes.OCI_MANIFEST : "";
    if (MediaTypes.INDEXES.contains(type)) {
      List<Descriptor> list = new ArrayList<>();
      for (JsonNode m : root.path("manifests")) list.add(Descriptor.from(m, where));
      return new Index(List.copyOf(list));
    }
    if (MediaTypes.MANIFESTS.contains(type)) {
      Descriptor config = Descriptor.from(root.path("config"), where + " config");
      List<Descriptor> layers = new ArrayList<>();
      for (JsonNode l : root.path("layers")) {
        Descriptor d = Descriptor.from(l, where + " layer");
        if (!MediaTypes.LAYERS.contains(d.mediaType())) {
          throw new IllegalArgumentException(where + ": layer " + d.digest() + " has media type '" + d.mediaType() + "', which is not a filesystem layer Kiln can apply");
        }
        layers.add(d);
      }
      return new Manifest(config, List.copyOf(layers));
    }
    throw new IllegalArgumentException(where + ": unsupported manifest media type '" + type + "'"
        + (type.contains("v1+") || type.contains("prettyjws") ? " (Docker schema 1 images are obsolete; push the image again with a current tool)" : ""));
  }
}
