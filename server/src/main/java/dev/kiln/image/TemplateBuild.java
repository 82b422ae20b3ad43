package dev.kiln.image;

import dev.kiln.host.AtomicFiles;
import dev.kiln.image.oci.Descriptor;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.image.oci.ImagePuller;
import dev.kiln.image.oci.PullListener;
import dev.kiln.image.oci.PulledImage;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.TemplateRow;
import dev.kiln.vmm.Machine;
import java.io.IOException;
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
public final class TemplateBuild implements DockerfileBuilder.Progress {
  private static final Logger log = LoggerFactory.getLogger(TemplateBuild.class);
  private static final long MIB = 1 << 20;

  /**
   * What a build needs from the service that runs it.
   *
   * @param snapshotting whether a built template goes on to be snapshotted (status SNAPSHOTTING, not READY)
   * @param onBuilt      told the name of each template once it is built
   */
  record Context(Path templatesRoot, Artifacts artifacts, TemplateRepository repo, ImagePuller puller, java.util.function.BooleanSupplier snapshotting,
      java.util.function.Consumer<String> onBuilt, java.util.function.Supplier<Optional<DockerfileBuilder>> dockerfiles) {}

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
    record(Template.Status.QUEUED, Optional.empty(), Optional.empty(), ImageConfig.NONE, TemplateRuntime.NONE, Optional.empty(), OptionalLong.empty());
    Files.createDirectories(dir);
    this.buildLog = new BuildLog(dir.resolve("build.log"));
    buildLog.line("queued: " + source.describe() + (source instanceof TemplateSource.Dockerfile ? "" : ", free space " + freeSpaceMib + " MiB"));
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
    long start = System.nanoTime();
    try {
      if (source instanceof TemplateSource.Dockerfile d) {
        buildDockerfile(d, start);
        return;
      }
      Optional<PulledImage> pulledImage = pull();
      long pulled = System.nanoTime();
      Optional<TemplateRow> same = pulledImage.flatMap(this::alreadyBuilt);
      if (same.isPresent() && reused(pulledImage.get(), same.get())) return;
      Path tree = switch (source) {
        case TemplateSource.Directory d -> d.path();
        case TemplateSource.Image _, TemplateSource.OciLayout _ -> unpack(pulledImage.orElseThrow(), work);
        case TemplateSource.Dockerfile _ -> throw new IllegalStateException("built above");
      };
      long unpacked = System.nanoTime();
      setPhase(Template.Status.BUILDING);
      RootfsImages.Made made = RootfsImages.make(tree, freeSpaceMib, ctx.artifacts(), buildLog::line);
      long done = System.nanoTime();
      String timing = "pull_ms=" + ms(pulled - start) + " unpack_ms=" + ms(unpacked - pulled) + " mkfs_ms=" + ms(done - unpacked);
      ImageConfig config = pulledImage.map(PulledImage::config).orElse(ImageConfig.NONE);
      publish(made.dir(), made.bytes(), config, pulledImage.map(i -> i.manifestDigest().toString()), TemplateRuntime.NONE, timing);
    } catch (Exception e) {
      String why = failure(e);
      buildLog.line("FAILED: " + why);
      log.warn("template build failed template={} source={} reason=\"{}\"", name, source.describe(), why);
      record(Template.Status.FAILED, Optional.empty(), Optional.of(why), ImageConfig.NONE, TemplateRuntime.NONE, Optional.empty(), OptionalLong.empty());
      if (e instanceof InterruptedException) Thread.currentThread().interrupt();
    } finally {
      try {
        AtomicFiles.deleteTree(work);
        if (source instanceof TemplateSource.Dockerfile d) AtomicFiles.deleteTree(d.context());
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
      case TemplateSource.Directory _, TemplateSource.Dockerfile _ -> Optional.empty();
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
    RootfsImages.unpack(image, work, buildLog::line);
    return work;
  }

  /** A Dockerfile's steps, by the daemon's builder; the image it makes becomes the template's like any other. */
  private void buildDockerfile(TemplateSource.Dockerfile d, long start) throws Exception {
    DockerfileBuilder builder = ctx.dockerfiles().get()
        .orElseThrow(() -> new dev.kiln.error.KilnException(dev.kiln.error.ErrorCode.INVALID_REQUEST, "this daemon does not build Dockerfiles"));
    setPhase(Template.Status.BUILDING);
    DockerfileBuilder.Built b = builder.build(name, owner, d, this);
    publish(b.rootfs().getParent(), b.bytes(), b.config(), Optional.empty(), b.runtime(), b.summary() + " build_ms=" + ms(System.nanoTime() - start));
  }

  /** Uploads a new image (in a cluster), points the row at it, and lets collection have it once the row names it. */
  private void publish(Path image, long bytes, ImageConfig config, Optional<String> digest, TemplateRuntime runtime, String timing) throws IOException {
    try {
      if (ctx.artifacts().shared()) {
        long t0 = System.nanoTime();
        // Before the row names it: no node is ever told of an image it cannot fetch.
        ctx.artifacts().upload(image);
        timing += " upload_ms=" + ms(System.nanoTime() - t0);
      }
      finish(config, digest, runtime, image.resolve(RootfsImages.ROOTFS), bytes, timing);
    } finally {
      ctx.artifacts().recorded(image);
    }
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
      finish(image.config(), Optional.of(image.manifestDigest().toString()), TemplateRuntime.NONE, rootfs, Files.size(rootfs), "reused=" + same.name());
    }
    return true;
  }

  private void finish(ImageConfig config, Optional<String> digest, TemplateRuntime runtime, Path rootfs, long bytes, String timing) {
    // Not READY while its snapshot is still to be taken: ready means sandboxes restore at full speed.
    Template.Status built = ctx.snapshotting().getAsBoolean() ? Template.Status.SNAPSHOTTING : Template.Status.READY;
    phase = built;
    int version = ctx.repo().upsertBuilt(row(built, Optional.of(rootfs), Optional.empty(), config, runtime, digest, OptionalLong.of(bytes)));
    buildLog.line("version " + name + ":" + version + (built == Template.Status.READY ? " ready: " + timing
        : " built: " + timing + "; snapshotting (ready once the snapshot is taken)"));
    log.info("template built template={} version={} status={} source={} {}", name, version, built, source.describe(), timing);
    ctx.onBuilt().accept(name);
  }

  private void setPhase(Template.Status s) {
    phase = s;
    record(s, Optional.empty(), Optional.empty(), ImageConfig.NONE, TemplateRuntime.NONE, Optional.empty(), OptionalLong.empty());
    buildLog.line(s.name().toLowerCase());
  }

  private void record(Template.Status status, Optional<Path> rootfs, Optional<String> error, ImageConfig config, TemplateRuntime runtime,
      Optional<String> digest, OptionalLong bytes) {
    phase = status;
    ctx.repo().upsert(row(status, rootfs, error, config, runtime, digest, bytes));
  }

  private TemplateRow row(Template.Status status, Optional<Path> rootfs, Optional<String> error, ImageConfig config, TemplateRuntime runtime,
      Optional<String> digest, OptionalLong bytes) {
    return new TemplateRow(name, status.name(), source.describe(), rootfs.map(Path::toString), bytes, error, createdAt, Instant.now(),
        digest, Optional.of(TemplateService.configJson(config, runtime)), freeSpaceMib, machine.name(), owner);
  }

  // ---- DockerfileBuilder.Progress

  @Override
  public void log(String line) {
    buildLog.line(line);
  }

  @Override
  public void phase(Template.Status s) {
    if (s != phase) setPhase(s);
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
