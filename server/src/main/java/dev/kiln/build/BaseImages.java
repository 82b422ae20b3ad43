package dev.kiln.build;

import dev.kiln.host.AtomicFiles;
import dev.kiln.image.DockerfileBuilder;
import dev.kiln.image.RootfsImages;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateService;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.image.oci.ImageReference;
import dev.kiln.image.oci.PulledImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * What a FROM (or a COPY --from that names no stage) starts from: a Kiln template of that name, or
 * an image the OCI client pulls, made into a template image once and cached under its manifest
 * digest (a rebuild pulls the manifest, finds the digest cached, and unpacks nothing).
 */
final class BaseImages {
  /** Room in a pulled image's filesystem before a build VM grows it to the build's disk size. */
  private static final long FREE_SPACE_MIB = 64;
  private final TemplateService templates;
  private final StepCache cache;

  /** A base: its disk, the key it starts the chain with, its config, and how the log describes it. */
  record Base(Path disk, String key, ImageConfig config, String describe) {}

  BaseImages(TemplateService templates, StepCache cache) {
    this.templates = templates;
    this.cache = cache;
  }

  Base resolve(String name, DockerfileBuilder.Progress progress, Path work, String owner) throws IOException, InterruptedException {
    Optional<Template> t = name.matches("[a-z0-9][a-z0-9._-]{0,62}") ? templates.find(name) : Optional.empty();
    if (t.isPresent() && t.get().visibleTo(owner, owner.equals(TemplateService.OPERATOR))) {
      Template template = t.get();
      if (!template.built()) throw new IllegalArgumentException("FROM " + name + ": the template is " + template.status().name().toLowerCase() + ", not ready");
      Path rootfs = template.rootfs().orElseThrow();
      String id = templates.artifacts().idOf(rootfs).orElse(rootfs.toString());
      return new Base(rootfs, StepCache.key("", List.of("template", name, id)), template.config(), "template " + name);
    }
    ImageReference ref;
    try {
      ref = ImageReference.parse(name);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("FROM " + name + ": neither a template nor an image reference (" + e.getMessage() + ")");
    }
    progress.phase(Template.Status.PULLING);
    PulledImage image = templates.puller().pull(ref, Optional.empty(), progress);
    progress.phase(Template.Status.BUILDING);
    String key = StepCache.key("", List.of("image", image.manifestDigest().toString(), String.valueOf(FREE_SPACE_MIB)));
    Optional<Path> cached = cache.find(key);
    if (cached.isPresent()) {
      progress.log("FROM " + name + ": image " + image.manifestDigest().shortForm() + " cached");
      return new Base(cached.get(), key, image.config(), "image " + name);
    }
    try {
      RootfsImages.unpack(image, work, progress::log);
      RootfsImages.Made made = RootfsImages.make(work, FREE_SPACE_MIB, templates.artifacts(), progress::log);
      try {
        cache.put(key, made.rootfs());
      } finally {
        templates.artifacts().recorded(made.dir());
      }
      return new Base(made.rootfs(), key, image.config(), "image " + name);
    } finally {
      AtomicFiles.deleteTree(work);
    }
  }
}
