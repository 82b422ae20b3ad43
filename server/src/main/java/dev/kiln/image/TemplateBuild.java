package dev.kiln.image;

import dev.kiln.host.AtomicFiles;
import dev.kiln.image.layer.LayerApplier;
import dev.kiln.image.layer.LayerStats;
import dev.kiln.image.oci.Descriptor;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.image.oci.ImagePuller;
import dev.kiln.image.oci.PullListener;
import dev.kiln.image.oci.PulledImage;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import dev.kiln.vmm.Machine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One template build, start to end: pull (registry or OCI layout) into the blob cache, apply the
 * layers in order into a fresh directory, make the ext4 image as a new {@link Artifacts} image,
 * point the template's row at it. A manifest digest already built with the same free space is not
 * rebuilt: the row points at the same image (it is immutable, so sharing it is safe).
 */
public final class TemplateBuild implements PullListener {
  private static final Logger log = LoggerFactory.getLogger(TemplateBuild.class);
  private static final long MIB = 1 << 20;
  /** The image file's name in its artifact directory. */
  private static final String ROOTFS = "rootfs.ext4";

  /**
   * What a build needs from the service that runs it.
   *
   * @param snapshotting whether a built template goes on to be snapshotted (status SNAPSHOTTING, not READY)
   * @param onBuilt      told the name of each template once it is built
   */
  record Context(Path templatesRoot, Artifacts artifacts, TemplateRepository repo, ImagePuller puller, java.util.function.BooleanSupplier snapshotting,
      java.util.function.Consumer<String> onBuilt) {}

  /** One layer's download as progress bars show it. */
  public record LayerProgress(String digest, long size, long done, String state) {}

  private final Context ctx;
  private final String name;
  private final TemplateSource source;
  private final long freeSpaceMib;
  private final Instant createdAt;
  /** The template's row before this build: a rebuild of the digest it holds needs no work. */
  private final Optional<TemplateRow> previous;
  /** The machine the template is snapshotted on. */
  private final Machine machine;
  /** The key it is built for ({@link TemplateService#OPERATOR}: the operator's); a rebuild keeps the template's. */
  private final String owner;
  private final Path dir;
  private final BuildLog buildLog;
  private final Map<String, LayerProgress> layers = new ConcurrentHashMap<>();
  private volatile Template.Status phase = Template.Status.QUEUED;
  /** Counted down once the build has cleaned up and let go of its template name. */
  private final java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);

  TemplateBuild(Context ctx, String name, TemplateSource source, long freeSpaceMib, Machine machine, Optional<TemplateRow> previous, String owner)
      throws IOException {
    this.ctx = ctx;
    this.owner = previous.map(TemplateRow::owner).orElse(owner);
    this.machine = machine;
    this.previous = previous;
    this.name = name;
    this.source = source;
    this.freeSpaceMib = freeSpaceMib;
    this.createdAt = previous.map(TemplateRow::createdAt).orElse(Instant.now());
    this.dir = ctx.templatesRoot().resolve(name);
    // The row first: a key with no room for another template is refused before a file is made.
    record(Template.Status.QUEUED, Optional.empty(), Optional.empty(), ImageConfig.NONE, Optional.empty(), OptionalLong.empty());
    Files.createDirectories(dir);
    this.buildLog = new BuildLog(dir.resolve("build.log"));
    buildLog.line("queued: " + source.describe() + ", free space " + freeSpaceMib + " MiB");
  }

  Machine machine() {
    return machine;
  }

  public BuildLog log() {
    return buildLog;
  }

  public Template.Status phase() {
    return phase;
  }

  /** True once the outcome is recorded; only cleanup may still be running. */
  boolean ended() {
    return phase == Template.Status.READY || phase == Template.Status.SNAPSHOTTING || phase == Template.Status.FAILED;
  }

  void release() {
    released.countDown();
  }

  /** Waits for an ended build to let go of its name, so a rebuild right after "ready" is not refused. */
  boolean awaitReleased(java.time.Duration d) throws InterruptedException {
    return released.await(d.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  public List<LayerProgress> layers() {
    return List.copyOf(layers.values());
  }

  /** Runs the build; the outcome is in the template's row (READY or FAILED with the reason). */
  void run() {
    Path work = dir.resolve(".build-rootfs");
    Path building = null;
    long start = System.nanoTime();
    try {
      Optional<PulledImage> pulledImage = pull();
      long pulled = System.nanoTime();
      Optional<TemplateRow> same = pulledImage.flatMap(this::alreadyBuilt);
      if (same.isPresent() && reused(pulledImage.get(), same.get())) return;
      Path tree = switch (source) {
        case TemplateSource.Directory d -> d.path();
        case TemplateSource.Image _, TemplateSource.OciLayout _ -> unpack(pulledImage.orElseThrow(), work);
      };
      long unpacked = System.nanoTime();
      setPhase(Template.Status.BUILDING);
      // Before mkfs, so a tree with no OS in it fails now, not at its sandboxes' first exec.
      buildLog.line(RootfsCheck.check(tree));
      Ext4Image.Size size = Ext4Image.plan(tree, freeSpaceMib * MIB);
      buildLog.line("mkfs.ext4: " + size.contentBytes() / MIB + " MiB in " + size.files() + " files, image " + size.imageBytes() / MIB + " MiB");
      building = ctx.artifacts().building(Artifacts.Kind.IMAGE);
      Ext4Image.build(tree, building.resolve(ROOTFS), size);
      // Read-only for good: a rebuild makes a new image, so disks layered on this one never see it change.
      Files.setAttribute(building.resolve(ROOTFS), "unix:mode", 0444);
      Path image = ctx.artifacts().publish(building);
      building = null;
      long done = System.nanoTime();
      String timing = "pull_ms=" + ms(pulled - start) + " unpack_ms=" + ms(unpacked - pulled) + " mkfs_ms=" + ms(done - unpacked);
      try {
        if (ctx.artifacts().shared()) {
          // Before the row names it: no node is ever told of an image it cannot fetch.
          ctx.artifacts().upload(image);
          timing += " upload_ms=" + ms(System.nanoTime() - done);
        }
        finish(pulledImage, image.resolve(ROOTFS), size.imageBytes(), timing);
      } finally {
        ctx.artifacts().recorded(image);
      }
    } catch (Exception e) {
      String why = failure(e);
      buildLog.line("FAILED: " + why);
      log.warn("template build failed template={} source={} reason=\"{}\"", name, source.describe(), why);
      record(Template.Status.FAILED, Optional.empty(), Optional.of(why), ImageConfig.NONE, Optional.empty(), OptionalLong.empty());
      if (e instanceof InterruptedException) Thread.currentThread().interrupt();
    } finally {
      try {
        AtomicFiles.deleteTree(work);
        if (building != null) AtomicFiles.deleteTree(building);
      } catch (IOException e) {
        log.warn("template={} build scratch space not removed: {}", name, e.toString());
      }
      buildLog.close();
    }
  }

  /**
   * Why the build failed, in words for the template's error (a client reads it): the file
   * exceptions that carry only a path say what happened to it, and a bug is logged with its stack
   * rather than shown as an exception name.
   */
  private String failure(Exception e) {
    return switch (e) {
      case InterruptedException _ -> "interrupted";
      case java.nio.file.NoSuchFileException f -> "no such file or directory: " + f.getFile();
      case java.nio.file.AccessDeniedException f -> "permission denied: " + f.getFile();
      case java.nio.file.FileSystemException f when f.getReason() != null -> f.getReason() + ": " + f.getFile();
      case RuntimeException r when !(r instanceof dev.kiln.error.KilnException || r instanceof dev.kiln.host.CommandException
          || r instanceof IllegalArgumentException || r instanceof java.io.UncheckedIOException) -> {
        log.error("template build failed on a bug template={}", name, r);
        yield "internal error in the daemon (its log has the details)";
      }
      default -> e.getMessage() == null ? "failed without a reason (the daemon's log has the details)" : e.getMessage();
    };
  }

  private Optional<PulledImage> pull() throws IOException, InterruptedException {
    return switch (source) {
      case TemplateSource.Directory _ -> Optional.empty();
      case TemplateSource.Image i -> {
        setPhase(Template.Status.PULLING);
        yield Optional.of(ctx.puller().pull(i.ref(), i.credentials(), this));
      }
      case TemplateSource.OciLayout o -> {
        setPhase(Template.Status.PULLING);
        yield Optional.of(ctx.puller().pullLayout(o.dir(), o.tag(), this));
      }
    };
  }

  /** A ready image of this manifest digest and free space: this template's previous one, or another template's. */
  private Optional<TemplateRow> alreadyBuilt(PulledImage image) {
    String digest = image.manifestDigest().toString();
    return previous.filter(p -> p.status().equals(Template.Status.READY.name()) && p.imageDigest().equals(Optional.of(digest)) && p.freeSpaceMib() == freeSpaceMib)
        .or(() -> ctx.repo().findReadyByImage(digest, freeSpaceMib))
        .filter(r -> r.rootfsPath().map(p -> ctx.artifacts().available(Path.of(p))).orElse(false));
  }

  private Path unpack(PulledImage image, Path work) throws IOException {
    setPhase(Template.Status.UNPACKING);
    buildLog.line("image " + image.manifestDigest() + ": " + image.layers().size() + " layers");
    AtomicFiles.deleteTree(work);
    Files.createDirectories(work);
    for (int i = 0; i < image.layers().size(); i++) {
      Descriptor d = image.layers().get(i);
      long t0 = System.nanoTime();
      LayerStats s;
      try (InputStream in = Files.newInputStream(image.layerFiles().get(i))) {
        s = LayerApplier.apply(work, in);
      }
      buildLog.line("layer " + (i + 1) + "/" + image.layers().size() + " " + d.digest().shortForm() + ": " + s.entries() + " entries, "
          + s.bytes() / MIB + " MiB, " + s.whiteouts() + " whiteouts, " + ms(System.nanoTime() - t0) + " ms");
    }
    if (!image.config().workingDir().isEmpty()) LayerApplier.createDirectories(work, image.config().workingDir());
    return work;
  }

  /**
   * Points this template at the image artifact already built (it is immutable, so templates share
   * it); false if it was collected since it was found, and the image is built again.
   */
  private boolean reused(PulledImage image, TemplateRow same) throws IOException {
    Path rootfs = ctx.artifacts().local(Path.of(same.rootfsPath().orElseThrow()));
    Artifacts.Hold h;
    try {
      // Held until this row names it: the other template may be rebuilt meanwhile, leaving it to collection.
      // In a cluster, an image another node built is fetched from the object store here.
      h = ctx.artifacts().hold(rootfs);
    } catch (java.nio.file.NoSuchFileException e) {
      return false;
    }
    try (h) {
      ctx.artifacts().uploadIfMissing(rootfs);
      buildLog.line("image " + image.manifestDigest() + " was already built (template '" + same.name() + "'): reusing its root filesystem");
      finish(Optional.of(image), rootfs, Files.size(rootfs), "reused=" + same.name());
    }
    return true;
  }

  private void finish(Optional<PulledImage> image, Path rootfs, long bytes, String timing) {
    ImageConfig config = image.map(PulledImage::config).orElse(ImageConfig.NONE);
    // Not READY while its snapshot is still to be taken: ready means sandboxes restore at full speed.
    Template.Status built = ctx.snapshotting().getAsBoolean() ? Template.Status.SNAPSHOTTING : Template.Status.READY;
    record(built, Optional.of(rootfs), Optional.empty(), config, image.map(i -> i.manifestDigest().toString()), OptionalLong.of(bytes));
    buildLog.line(built == Template.Status.READY ? "ready: " + timing : "built: " + timing + "; snapshotting (ready once the snapshot is taken)");
    log.info("template built template={} status={} source={} {}", name, built, source.describe(), timing);
    ctx.onBuilt().accept(name);
  }

  private void setPhase(Template.Status s) {
    phase = s;
    record(s, Optional.empty(), Optional.empty(), ImageConfig.NONE, Optional.empty(), OptionalLong.empty());
    buildLog.line(s.name().toLowerCase());
  }

  private void record(Template.Status status, Optional<Path> rootfs, Optional<String> error, ImageConfig config, Optional<String> digest,
      OptionalLong bytes) {
    phase = status;
    ctx.repo().upsert(new TemplateRow(name, status.name(), source.describe(), rootfs.map(Path::toString), bytes, error, createdAt, Instant.now(),
        digest, Optional.of(TemplateService.configJson(config)), freeSpaceMib, machine.name(), owner));
  }

  private static long ms(long nanos) {
    return nanos / 1_000_000;
  }

  // ---- PullListener: progress for the build log and for progress bars -------------------------

  @Override
  public void cached(Descriptor d) {
    layers.put(d.digest().toString(), new LayerProgress(d.digest().toString(), d.size(), d.size(), "cached"));
    buildLog.line("layer " + d.digest().shortForm() + " (" + d.size() / MIB + " MiB): cached, not downloaded");
  }

  @Override
  public void started(Descriptor d, long from) {
    layers.put(d.digest().toString(), new LayerProgress(d.digest().toString(), d.size(), from, "downloading"));
    buildLog.line("layer " + d.digest().shortForm() + " (" + d.size() / MIB + " MiB): " + (from > 0 ? "resuming at " + from + " bytes" : "downloading"));
  }

  @Override
  public void progress(Descriptor d, long done) {
    layers.put(d.digest().toString(), new LayerProgress(d.digest().toString(), d.size(), done, "downloading"));
  }

  @Override
  public void finished(Descriptor d) {
    layers.put(d.digest().toString(), new LayerProgress(d.digest().toString(), d.size(), d.size(), "done"));
    buildLog.line("layer " + d.digest().shortForm() + ": downloaded and verified");
  }

  /** For the API: the phase and each layer's progress. */
  public Map<String, Object> progressView() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("phase", phase.name().toLowerCase());
    m.put("layers", layers());
    return m;
  }
}
