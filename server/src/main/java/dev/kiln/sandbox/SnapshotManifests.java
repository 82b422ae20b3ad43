package dev.kiln.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.host.AtomicFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The manifest of each template snapshot directory: written last, so a directory with one is
 * whole; read once per directory and change time, since a published snapshot does not change and
 * every create and pool claim looks its manifest up.
 */
final class SnapshotManifests {
  private static final String FILE = "manifest.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Snapshots read since the last clear: a few per template; directories of collected snapshots do not come back. */
  private static final int REMEMBERED = 256;
  private final Map<Path, Map.Entry<FileTime, TemplateSnapshots.Manifest>> read = new ConcurrentHashMap<>();

  /** Whether the directory holds a whole snapshot (its manifest, written last, is there). */
  boolean whole(Path dir) {
    return Files.isRegularFile(dir.resolve(FILE));
  }

  TemplateSnapshots.Manifest of(Path dir) throws IOException {
    Path file = dir.resolve(FILE);
    FileTime changed = Files.readAttributes(file, BasicFileAttributes.class).lastModifiedTime();
    var known = read.get(dir);
    if (known != null && known.getKey().equals(changed)) return known.getValue();
    TemplateSnapshots.Manifest m = JSON.readValue(file.toFile(), TemplateSnapshots.Manifest.class);
    if (read.size() > REMEMBERED) read.clear();
    read.put(dir, Map.entry(changed, m));
    return m;
  }

  /** Writes the manifest into a snapshot being built: the last file, which makes it whole. */
  void write(Path building, TemplateSnapshots.Manifest m) throws IOException {
    AtomicFiles.write(building.resolve(FILE), JSON.writeValueAsBytes(m));
  }
}
