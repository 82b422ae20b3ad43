package dev.kiln.image;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.host.AtomicFiles;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateSnapshotIds;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which snapshot artifact is a template's current one: the template row's {@code snapshot_id} (and
 * {@code snapshot_net_id} for the variant with a network device), an artifact id that names the
 * same snapshot on every node sharing the database (fetched from the object store where it is not
 * here), switched by compare-and-set. A template directory from before artifacts has no id but a
 * {@code snapshot/} directory: that one is current.
 *
 * <p>Daemons before the columns kept the id in a file per data directory,
 * {@code templates/<name>/snapshot[-net].json}: {@code {"id": "<artifact id>", "dir": "<artifact>"}},
 * or only {@code "dir"} before ids. {@link #takeOverFiles} moves them into the rows.
 */
public final class SnapshotPointers {
  private static final Logger log = LoggerFactory.getLogger(SnapshotPointers.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path templatesRoot;
  private final TemplateRepository repo;
  private final Artifacts artifacts;

  public SnapshotPointers(Path dataDir, TemplateRepository repo, Artifacts artifacts) {
    this.templatesRoot = dataDir.toAbsolutePath().normalize().resolve("templates");
    this.repo = repo;
    this.artifacts = artifacts;
  }

  private static String variant(boolean network) {
    return network ? "snapshot-net" : "snapshot";
  }

  /** The template's current snapshot directory, if it has one; throws if its recorded id is not one. */
  public Optional<Path> current(String template, boolean network) throws IOException {
    String name = Template.validName(template);
    return current(name, network, repo.snapshots(name).orElse(TemplateSnapshotIds.NONE));
  }

  private Optional<Path> current(String name, boolean network, TemplateSnapshotIds ids) throws IOException {
    Optional<String> id = ids.of(network);
    if (id.isPresent()) {
      try {
        return Optional.of(artifacts.snapshot(id.get()));
      } catch (IllegalArgumentException e) {
        throw new IOException("template " + name + "'s " + variant(network) + ": " + e.getMessage(), e);
      }
    }
    Path legacy = templatesRoot.resolve(name).resolve(variant(network));
    return Files.isDirectory(legacy) ? Optional.of(legacy) : Optional.empty();
  }

  /**
   * Makes {@code snapshot} the template's current one (the variant with a network device if
   * {@code network}) if {@code previous}, what {@link #current} said before it was taken, still is.
   * False if another snapshot became current meanwhile (another node's): that one stays.
   */
  public boolean point(String template, boolean network, Optional<Path> previous, Path snapshot) {
    String id = artifacts.idOf(snapshot).orElseThrow(() -> new IllegalArgumentException("not a snapshot artifact: " + snapshot));
    // A legacy directory has no id: it is current only while none is recorded.
    return repo.switchSnapshot(Template.validName(template), network, previous.flatMap(artifacts::idOf), id);
  }

  /**
   * The current snapshots of every template, for collection; first takes over any pointer file
   * left, and throws if one cannot be (or an id is not one): collection must not guess.
   */
  public Set<Path> all() throws IOException {
    takeOverFiles();
    Set<Path> all = new HashSet<>();
    for (Map.Entry<String, TemplateSnapshotIds> t : repo.allSnapshots().entrySet()) {
      for (boolean network : new boolean[] {false, true}) current(t.getKey(), network, t.getValue()).ifPresent(all::add);
    }
    return all;
  }

  /**
   * Moves the pointer files of a daemon before the columns into the rows (at daemon start, and
   * before collection reads the roots): a file's id is recorded if none is (compare-and-set: one
   * another node recorded first, or a later snapshot, wins), then the file is deleted. A crash in
   * between leaves a file whose column is set, deleted next time; so is the file of a template that
   * no longer exists. A file that cannot be read stays, and this throws once every other one is
   * taken over, naming it.
   */
  public void takeOverFiles() throws IOException {
    if (!Files.isDirectory(templatesRoot)) return;
    List<String> unreadable = new ArrayList<>();
    try (var templates = Files.newDirectoryStream(templatesRoot, Files::isDirectory)) {
      for (Path dir : templates) {
        for (boolean network : new boolean[] {false, true}) {
          Path pointer = dir.resolve(variant(network) + ".json");
          if (!Files.isRegularFile(pointer)) continue;
          String id;
          try {
            id = idIn(pointer);
          } catch (IOException e) {
            unreadable.add(e.getMessage());
            continue;
          }
          String template = dir.getFileName().toString();
          boolean recorded = repo.switchSnapshot(template, network, Optional.empty(), id);
          Files.deleteIfExists(pointer);
          AtomicFiles.fsyncDirectory(dir);
          log.info("snapshot pointer file taken over template={} network={} id={} recorded={}", template, network, id, recorded);
        }
      }
    }
    if (!unreadable.isEmpty()) {
      throw new IOException("snapshot pointer files that cannot be taken over into the database: " + String.join("; ", unreadable)
          + " (artifacts are not collected while one is left: delete it, and the template is snapshotted again at the next start)");
    }
  }

  /** The snapshot id a pointer file names: its "id", or, in one from before ids, the artifact its "dir" is (under any node's data directory). */
  private String idIn(Path pointer) throws IOException {
    JsonNode n;
    try {
      n = JSON.readTree(pointer.toFile());
    } catch (IOException e) {
      throw new IOException(pointer + " is not JSON: " + e.getMessage(), e);
    }
    if (n != null && n.path("id").isTextual()) {
      try {
        return artifacts.snapshot(n.path("id").asText()).getFileName().toString();
      } catch (IllegalArgumentException e) {
        throw new IOException(pointer + ": " + e.getMessage(), e);
      }
    }
    if (n == null || !n.path("dir").isTextual()) throw new IOException(pointer + " has no \"id\" or \"dir\"");
    Path dir = Path.of(n.path("dir").asText());
    return artifacts.idOf(dir).filter(id -> artifacts.snapshot(id).equals(artifacts.local(dir)))
        .orElseThrow(() -> new IOException(pointer + " names " + dir + ", which is no snapshot artifact"));
  }
}
