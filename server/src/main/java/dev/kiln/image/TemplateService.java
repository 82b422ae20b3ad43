package dev.kiln.image;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Builds, lists and deletes templates; their images live under {@code <data>/templates/<name>/}. */
public final class TemplateService {
  private static final Logger log = LoggerFactory.getLogger(TemplateService.class);
  private final Path root;
  private final TemplateRepository repo;

  public TemplateService(Path dataDir, TemplateRepository repo) {
    this.root = dataDir.resolve("templates");
    this.repo = repo;
  }

  /**
   * Builds (or rebuilds, when no sandbox uses it) a template synchronously. The image is written
   * under a temporary name and renamed into place, so a crash never leaves a torn image behind.
   */
  public Template build(String name, TemplateSource source, long freeSpaceMib) {
    Template.validName(name);
    if (freeSpaceMib < 0 || freeSpaceMib > 1 << 20) throw new KilnException(ErrorCode.INVALID_REQUEST, "freeSpaceMib must be 0..1048576, got " + freeSpaceMib);
    Path tree = switch (source) {
      case TemplateSource.Directory d -> d.path();
    };
    if (!Files.isDirectory(tree)) throw new KilnException(ErrorCode.INVALID_REQUEST, "template source directory " + tree + " does not exist on the daemon's host");
    if (repo.inUse(name)) {
      // Sandboxes' qcow2 overlays point at this image by path; replacing it under them would corrupt their disks.
      throw new KilnException(ErrorCode.TEMPLATE_IN_USE, "template '" + name + "' is used by sandboxes; delete them before rebuilding it");
    }
    Instant now = Instant.now();
    Instant created = repo.find(name).map(TemplateRow::createdAt).orElse(now);
    Path dir = root.resolve(name);
    Path image = dir.resolve("rootfs.ext4");
    Path tmp = dir.resolve(".rootfs.ext4.building");
    long start = System.nanoTime();
    try {
      Files.createDirectories(dir);
      Ext4Image.Size size = Ext4Image.plan(tree, freeSpaceMib << 20);
      log.info("building template={} source={} content_mib={} files={} image_mib={}", name, source.describe(),
          size.contentBytes() >> 20, size.files(), size.imageBytes() >> 20);
      Ext4Image.build(tree, tmp, size);
      AtomicFiles.moveDurably(tmp, image);
      Template t = new Template(name, Template.Status.READY, source.describe(), Optional.of(image), OptionalLong.of(size.imageBytes()),
          Optional.empty(), created, Instant.now());
      repo.upsert(toRow(t));
      log.info("template ready template={} took_ms={}", name, (System.nanoTime() - start) / 1_000_000);
      return t;
    } catch (IOException | RuntimeException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // the build error below is the one to report
      }
      throw new KilnException(ErrorCode.INVALID_REQUEST, "building template " + name + " failed: " + e.getMessage(), e);
    }
  }

  public Optional<Template> find(String name) {
    return repo.find(name).map(TemplateService::fromRow);
  }

  /** The template, which must be ready to boot sandboxes from. */
  public Template ready(String name) {
    Template t = find(name).orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + name + "'"));
    if (t.status() != Template.Status.READY || t.rootfs().isEmpty()) {
      throw new KilnException(ErrorCode.TEMPLATE_NOT_READY, "template '" + name + "' is " + t.status().name().toLowerCase() + ", not ready");
    }
    return t;
  }

  public List<Template> list() {
    return repo.all().stream().map(TemplateService::fromRow).toList();
  }

  public void delete(String name) {
    find(name).orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + name + "'"));
    if (!repo.deleteIfUnused(name)) {
      throw new KilnException(ErrorCode.TEMPLATE_IN_USE, "template '" + name + "' is used by sandboxes; delete them first");
    }
    try {
      AtomicFiles.deleteTree(root.resolve(name));
    } catch (IOException e) {
      log.warn("template={} deleted but its files remain: {}", name, e.toString());
    }
    log.info("template deleted template={}", name);
  }

  private static TemplateRow toRow(Template t) {
    return new TemplateRow(t.name(), t.status().name(), t.source(), t.rootfs().map(Path::toString), t.rootfsBytes(), t.error(),
        t.createdAt(), t.updatedAt());
  }

  private static Template fromRow(TemplateRow r) {
    return new Template(r.name(), Template.Status.valueOf(r.status()), r.source(), r.rootfsPath().map(Path::of), r.rootfsBytes(),
        r.error(), r.createdAt(), r.updatedAt());
  }
}
