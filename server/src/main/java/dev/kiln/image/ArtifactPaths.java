package dev.kiln.image;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Where artifacts lie in a data directory ({@code artifacts/<kind>/<id>/}, and the legacy names in
 * template directories), which artifact a path belongs to, and what a set of roots reaches: the
 * read-only half of {@link Artifacts}' collection.
 */
final class ArtifactPaths {
  private final Path root;
  private final Path templatesRoot;

  ArtifactPaths(Path root, Path templatesRoot) {
    this.root = root;
    this.templatesRoot = templatesRoot;
  }

  /** Every artifact there is: the directories under {@code artifacts/<kind>/} and the legacy ones in template directories. */
  List<Path> all() throws IOException {
    List<Path> all = new ArrayList<>();
    for (Artifacts.Kind k : Artifacts.Kind.values()) {
      Path dir = root.resolve(k.dir);
      if (!Files.isDirectory(dir)) continue;
      try (var entries = Files.newDirectoryStream(dir)) {
        for (Path p : entries) if (!p.getFileName().toString().startsWith(".")) all.add(p);
      }
    }
    if (Files.isDirectory(templatesRoot)) {
      try (var templates = Files.newDirectoryStream(templatesRoot)) {
        for (Path t : templates) {
          for (String n : Artifacts.LEGACY_NAMES) if (Files.exists(t.resolve(n), LinkOption.NOFOLLOW_LINKS)) all.add(t.resolve(n));
        }
      }
    }
    return all;
  }

  /**
   * The artifacts reached from {@code roots} and {@code kept} (held and pending ones), following
   * what each file is built on ({@code baseOf}, for every {@code .qcow2} on the way, a snapshot's
   * disk included once its snapshot is reached). A root that does not exist protects nothing; a
   * base that does not exist or a header that cannot be read is an error: the chain is broken.
   */
  Set<Path> reachable(Set<Path> roots, Set<Path> kept, Artifacts.BaseOf baseOf) throws IOException {
    Set<Path> artifacts = new HashSet<>();
    Set<Path> seen = new HashSet<>();
    record Step(Path path, boolean base) {}
    ArrayDeque<Step> todo = new ArrayDeque<>();
    for (Path r : roots) todo.push(new Step(r, false));
    for (Path p : kept) todo.push(new Step(p, false));
    while (!todo.isEmpty()) {
      Step s = todo.pop();
      Path p = canonical(s.path().toAbsolutePath().normalize());
      if (!seen.add(p)) continue;
      if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
        // A layer collected since the roots were listed protects nothing; a chain whose base is gone is broken: stop.
        if (s.base()) throw new IOException("base file " + p + " does not exist");
        continue;
      }
      Optional<Path> artifact = artifactOf(p);
      if (artifact.isPresent() && artifacts.add(artifact.get()) && Files.isDirectory(artifact.get())) {
        try (Stream<Path> files = Files.list(artifact.get())) {
          for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".qcow2")).toList()) todo.push(new Step(f, false));
        }
      }
      if (p.getFileName().toString().endsWith(".qcow2") && Files.isRegularFile(p)) {
        Optional<Path> base;
        try {
          base = baseOf.of(p);
        } catch (IOException e) {
          throw new IOException("disk " + p + " has an unreadable header: " + e.getMessage(), e);
        }
        if (base.isPresent()) todo.push(new Step(base.get(), true));
      }
    }
    return artifacts;
  }

  /** A path that leads into the data directory by another name (a symbolic link on the way) is compared by its real path. */
  private Path canonical(Path p) throws IOException {
    if (p.startsWith(root) || p.startsWith(templatesRoot)) return p;
    try {
      Path real = p.toRealPath();
      for (Path dir : List.of(root, templatesRoot)) {
        if (Files.exists(dir) && real.startsWith(dir.toRealPath())) return dir.resolve(dir.toRealPath().relativize(real));
      }
      return real;
    } catch (NoSuchFileException e) {
      return p;
    }
  }

  /** The artifact (its directory, or a legacy image file) a path lies in, if any. */
  Optional<Path> artifactOf(Path p) {
    if (p.startsWith(root)) {
      Path rel = root.relativize(p);
      if (rel.getNameCount() >= 2 && !rel.getName(1).toString().startsWith(".")) return Optional.of(root.resolve(rel.subpath(0, 2)));
      return Optional.empty();
    }
    if (p.startsWith(templatesRoot)) {
      Path rel = templatesRoot.relativize(p);
      if (rel.getNameCount() >= 2 && Artifacts.LEGACY_NAMES.contains(rel.getName(1).toString())) return Optional.of(templatesRoot.resolve(rel.subpath(0, 2)));
    }
    return Optional.empty();
  }
}
