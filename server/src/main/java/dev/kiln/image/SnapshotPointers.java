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
 * {@code snapshot-net.json} for the variant with a network device), {@code {"id": "<artifact id>",
 * "dir": "<artifact>"}}, replaced atomically (temp file, fsync, rename) when a new snapshot is taken.
 * The id is what is read: it names the same artifact in any node's data directory (fetched from the
 * object store if it is not there). Pointers from before ids have only the directory. A template
 * directory from before artifacts has no pointer but a {@code snapshot/} directory: that one is current.
 */
public final class SnapshotPointers {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path templatesRoot;
  private final Artifacts artifacts;

  public SnapshotPointers(Path dataDir) {
    this(dataDir, new Artifacts(dataDir));
  }

  SnapshotPointers(Path dataDir, Artifacts artifacts) {
    this.templatesRoot = dataDir.toAbsolutePath().normalize().resolve("templates");
    this.artifacts = artifacts;
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
      if (n != null && n.path("id").isTextual()) {
        try {
          return Optional.of(artifacts.snapshot(n.path("id").asText()));
        } catch (IllegalArgumentException e) {
          throw new IOException("snapshot pointer " + pointer + ": " + e.getMessage(), e);
        }
      }
      if (n == null || !n.path("dir").isTextual()) throw new IOException("snapshot pointer " + pointer + " has no \"id\" or \"dir\"");
      return Optional.of(artifacts.local(Path.of(n.path("dir").asText())));
    }
    Path legacy = dir.resolve(variant(network));
    return Files.isDirectory(legacy) ? Optional.of(legacy) : Optional.empty();
  }

  /** Makes {@code snapshot} the template's current one (the variant with a network device if {@code network}). */
  public void point(String template, boolean network, Path snapshot) throws IOException {
    Path pointer = templatesRoot.resolve(Template.validName(template)).resolve(variant(network) + ".json");
    Map<String, String> p = new java.util.LinkedHashMap<>();
    artifacts.idOf(snapshot).ifPresent(id -> p.put("id", id));
    p.put("dir", snapshot.toAbsolutePath().normalize().toString());
    AtomicFiles.write(pointer, JSON.writeValueAsBytes(p));
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
