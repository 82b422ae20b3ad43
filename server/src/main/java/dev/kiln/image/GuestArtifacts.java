package dev.kiln.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The kernel and initramfs every sandbox boots, as assembled by scripts/build-guest.sh into a
 * content-addressed directory with a manifest.json. {@code id} is that directory's name, so a
 * sandbox record says exactly which build it booted.
 *
 * @param kernelFlavor "kiln" (built by scripts/build-guest-kernel.sh), "debian" (the cloud kernel
 *     package), or "" for artifacts assembled before the manifest said
 * @param kernelSource what the kernel was made from, as the manifest says it
 */
public record GuestArtifacts(String id, Path kernel, Path initrd, Path hostileInitrd, String cmdline, String kernelFlavor, String kernelSource) {
  public static GuestArtifacts load(Path dir) throws IOException {
    Path real = dir.toRealPath();
    Path manifest = real.resolve("manifest.json");
    if (!Files.isRegularFile(manifest)) {
      throw new IOException("no guest artifacts at " + dir + " (manifest.json missing); run scripts/build-guest.sh");
    }
    JsonNode m = new ObjectMapper().readTree(manifest.toFile());
    Path kernel = real.resolve(required(m, "kernel", manifest));
    Path initrd = real.resolve(required(m, "initrd", manifest));
    Path hostile = real.resolve(m.path("initrd_hostile").asText("initrd-hostile.cpio"));
    for (Path p : new Path[] {kernel, initrd}) {
      if (!Files.isRegularFile(p)) throw new IOException("guest artifact " + p + " named by " + manifest + " is missing");
    }
    String source = m.hasNonNull("kernel_source") ? m.path("kernel_source").asText() : m.path("kernel_package").asText("");
    return new GuestArtifacts(real.getFileName().toString(), kernel, initrd, hostile, m.path("cmdline").asText(""), m.path("kernel_flavor").asText(""),
        source);
  }

  private static String required(JsonNode m, String field, Path manifest) throws IOException {
    String v = m.path(field).asText("");
    if (v.isEmpty() || v.contains("/")) throw new IOException(manifest + ": field '" + field + "' must name a file in its directory, got '" + v + "'");
    return v;
  }
}
