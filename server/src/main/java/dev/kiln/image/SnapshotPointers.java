package dev.kiln.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which snapshot artifact is a template's current one: {@code templates/<name>/snapshot.json} (and
 * {@code snapshot-net.json} for the variant with a network device), {@code {"dir": "<artifact>"}},
 * replaced atomically (temp file, fsync, rename) when a new snapshot is taken. A template directory
 * from before artifacts has no pointer but a {@code snapshot/} directory: that one is current.
 */
public final class SnapshotPointers {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path templatesRoot;

  public SnapshotPointers(Path dataDir) {
    this.templatesRoot = dataDir.toAbsolutePath().normalize().resolve("templates");
  }

  private static String variant(boolean network) {
    return network ? "snapshot-net" : "snapshot";
  }

  /** The template's current snapshot directory, if it has one; throws if its pointer cannot be read. */
  public Optional<Path> current(String template, boolean network) throws IOException {
    Path dir = templatesRoot.resolve(Template.validName(template));
    Path pointer = dir.resolve(variant(network) + ".json");
    if (Files.isRegularFile(pointer)) {
      JsonNode n = JSON.readTree(pointer.toFile());
      if (n == null || !n.path("dir").isTextual()) throw new IOException("snapshot pointer " + pointer + " has no \"dir\"");
      return Optional.of(Path.of(n.path("dir").asText()));
    }
    Path legacy = dir.resolve(variant(network));
    return Files.isDirectory(legacy) ? Optional.of(legacy) : Optional.empty();
  }

  /** Makes {@code snapshot} the template's current one (the variant with a network device if {@code network}). */
  public void point(String template, boolean network, Path snapshot) throws IOException {
    Path pointer = templatesRoot.resolve(Template.validName(template)).resolve(variant(network) + ".json");
    AtomicFiles.write(pointer, JSON.writeValueAsBytes(Map.of("dir", snapshot.toAbsolutePath().normalize().toString())));
  }

  /**
   * The current snapshots of these templates; throws if any pointer cannot be read (collection
   * must not guess). Only templates that exist: a deleted one's legacy directory is garbage.
   */
  public Set<Path> of(Collection<String> templates) throws IOException {
    Set<Path> all = new HashSet<>();
    for (String name : templates) {
      for (boolean network : new boolean[] {false, true}) current(name, network).ifPresent(all::add);
    }
    return all;
  }
}
