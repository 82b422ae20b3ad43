package dev.kiln.image;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.image.oci.ImagePuller;
import dev.kiln.store.TemplateRepository;
import dev.kiln.store.QuotaExceededException;
import dev.kiln.store.TemplateRow;
import dev.kiln.vmm.Machine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds, lists and deletes templates. A template's directory {@code <data>/templates/<name>/}
 * holds its build log; its image and snapshots are {@link Artifacts}, named by its row.
 * Builds run one per template name at a time, in the background for the API and in the caller's
 * thread for the installer and tests.
 */
public final class TemplateService {
  /** The owner of the operator's templates (built with an admin key, or on the host): every key may use them. */
  public static final String OPERATOR = "";
  private static final Logger log = LoggerFactory.getLogger(TemplateService.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path root;
  private final TemplateRepository repo;
  private final Artifacts artifacts;
  private final SnapshotPointers snapshotPointers;
  private final TemplateBuild.Context ctx;
  private final Map<String, TemplateBuild> active = new ConcurrentHashMap<>();
  private final List<Consumer<String>> deletedListeners = new CopyOnWriteArrayList<>();
  /** Takes the snapshot of each template built, if the daemon snapshots templates. */
  private volatile Consumer<Template> snapshotter;
  /** Builds Dockerfiles, once the daemon has wired its builder. */
  private volatile DockerfileBuilder dockerfiles;
  private final ImagePuller puller;

  public TemplateService(Path dataDir, TemplateRepository repo, ImagePuller puller) {
    this(dataDir, repo, puller, new Artifacts(dataDir));
  }

  /** With the artifacts given: {@link Artifacts#Artifacts(Path, dev.kiln.blob.ObjectStore, long) shared} through an object store in a cluster. */
  public TemplateService(Path dataDir, TemplateRepository repo, ImagePuller puller, Artifacts artifacts) {
    this.root = dataDir.resolve("templates");
    this.repo = repo;
    this.artifacts = artifacts;
    this.snapshotPointers = new SnapshotPointers(dataDir, repo, artifacts);
    this.puller = puller;
    this.ctx = new TemplateBuild.Context(root, artifacts, repo, puller, () -> snapshotter != null, name -> {
      Consumer<Template> s = snapshotter;
      if (s != null) find(name).ifPresent(s);
    }, () -> Optional.ofNullable(dockerfiles));
  }

  /** Where template images and snapshots live, and what collects them. */
  public Artifacts artifacts() {
    return artifacts;
  }

  /** What pulls images: a Dockerfile's FROM lines pull through it too. */
  public ImagePuller puller() {
    return puller;
  }

  /** What builds Dockerfiles here; empty until the daemon wires it (a control instance has none). */
  public Optional<DockerfileBuilder> dockerfiles() {
    return Optional.ofNullable(dockerfiles);
  }

  /** Dockerfile builds ({@link TemplateSource.Dockerfile}) go to {@code builder}. */
  public void buildDockerfilesWith(DockerfileBuilder builder) {
    this.dockerfiles = builder;
  }

  /** Which snapshot is each template's current one. */
  public SnapshotPointers snapshotPointers() {
    return snapshotPointers;
  }

  /**
   * Templates are snapshotted once built: a build then ends in SNAPSHOTTING, {@code snapshotter} is
   * called with the template on the build's thread (it should start the snapshot and return), and
   * the template becomes READY through {@link #snapshotEnded} when its snapshot is taken or has failed.
   */
  public void snapshotWith(Consumer<Template> snapshotter) {
    this.snapshotter = snapshotter;
  }

  /** True when templates are snapshotted once built (the daemon's templateSnapshots). */
  public boolean snapshotsEnabled() {
    return snapshotter != null;
  }

  /** A snapshot of a built template starts: READY → SNAPSHOTTING (already SNAPSHOTTING: unchanged); false if it is not built. */
  public boolean snapshotStarted(String name) {
    return repo.updateStatus(name, Template.Status.READY.name(), Template.Status.SNAPSHOTTING.name(), Instant.now())
        || find(name).map(t -> t.status() == Template.Status.SNAPSHOTTING).orElse(false);
  }

  /** Its snapshot is taken (or failed: sandboxes then boot): SNAPSHOTTING → READY. */
  public void snapshotEnded(String name) {
    repo.updateStatus(name, Template.Status.SNAPSHOTTING.name(), Template.Status.READY.name(), Instant.now());
  }

  /** Called after a template is deleted (warm pools stop their VMs of it). */
  public void onDeleted(Consumer<String> listener) {
    deletedListeners.add(listener);
  }

  /** At daemon start: builds the previous daemon was running cannot finish; say so, and remove what they left. */
  public void failInterruptedBuilds() {
    artifacts.removeInterrupted();
    int n = repo.failUnfinished("the daemon restarted during the build; build the template again", Instant.now());
    if (n > 0) log.warn("templates whose build a daemon restart interrupted count={}", n);
  }

  /**
   * Builds the operator's template in the caller's thread; throws with the reason when the build
   * fails. Its snapshot, if any, is still being taken on return.
   */
  public Template build(String name, TemplateSource source, long freeSpaceMib, Optional<Machine> machine) {
    TemplateBuild b = begin(name, source, freeSpaceMib, machine, OPERATOR);
    runAndRelease(name, b);
    Template t = find(name).orElseThrow();
    if (!t.built()) {
      throw new KilnException(ErrorCode.TEMPLATE_BUILD_FAILED, "building template " + name + " failed: " + t.error().orElse("unknown reason"));
    }
    return t;
  }

  /**
   * Starts a build in the background and returns the queued template at once. {@code owner} is
   * the user key it is built for, or {@link #OPERATOR}; a template another key owns is not theirs
   * to rebuild.
   */
  public Template submit(String name, TemplateSource source, long freeSpaceMib, Optional<Machine> machine, String owner) {
    TemplateBuild b;
    try {
      b = begin(name, source, freeSpaceMib, machine, owner);
    } catch (RuntimeException e) {
      // A Dockerfile's context was received for this build; refused, it is nobody's.
      if (source instanceof TemplateSource.Dockerfile d) deleteQuietly(d.context());
      throw e;
    }
    Thread.ofVirtual().name("template-build-" + name).start(() -> runAndRelease(name, b));
    return find(name).orElseThrow();
  }

  private static void deleteQuietly(Path dir) {
    try {
      AtomicFiles.deleteTree(dir);
    } catch (IOException e) {
      log.warn("build context {} not removed: {}", dir, e.toString());
    }
  }

  /** A build that names no machine keeps the template's (a rebuild) or makes a microvm one. */
  private TemplateBuild begin(String name, TemplateSource source, long freeSpaceMib, Optional<Machine> machine, String owner) {
    Template.validName(name);
    Optional<Template> existing = find(name);
    if (existing.isPresent() && !owner.equals(OPERATOR) && !existing.get().owner().equals(owner)) {
      // Names are one namespace for all keys: saying it is taken is all another key learns.
      throw new KilnException(ErrorCode.TEMPLATE_NAME_TAKEN, "the template name '" + name + "' is taken by another key's or the operator's template; "
          + "choose another name");
    }
    if (freeSpaceMib < 0 || freeSpaceMib > 1 << 20) throw new KilnException(ErrorCode.INVALID_REQUEST, "freeSpaceMib must be 0..1048576, got " + freeSpaceMib);
    if (source instanceof TemplateSource.Directory d && !Files.isDirectory(d.path())) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "template source directory " + d.path() + " does not exist on the daemon's host");
    }
    if (source instanceof TemplateSource.OciLayout o && !Files.isRegularFile(o.dir().resolve("index.json"))) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, o.dir() + " is not an OCI image layout on the daemon's host (no index.json)");
    }
    if (find(name).map(t -> t.status() == Template.Status.SNAPSHOTTING).orElse(false)) {
      throw new KilnException(ErrorCode.TEMPLATE_BUSY, "template '" + name + "' is being snapshotted; rebuild it once its status is ready");
    }
    TemplateBuild ending = active.get(name);
    if (ending != null && ending.ended()) {
      try {
        ending.awaitReleased(java.time.Duration.ofSeconds(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    Optional<TemplateRow> previous = repo.find(name);
    TemplateBuild b;
    synchronized (active) {
      if (active.containsKey(name)) throw new KilnException(ErrorCode.TEMPLATE_BUSY, "template '" + name + "' is being built; wait for that build to end");
      try {
        b = new TemplateBuild(ctx, name, source, freeSpaceMib,
            machine.orElseGet(() -> previous.map(r -> Machine.valueOf(r.machine())).orElse(Machine.MICROVM)), previous, owner);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start building template " + name, e);
      } catch (QuotaExceededException e) {
        throw new KilnException(ErrorCode.QUOTA_EXCEEDED, "no new template: " + e.getMessage(), e);
      }
      active.put(name, b);
    }
    log.info("template build queued template={} source={} free_space_mib={} machine={}", name, source.describe(), freeSpaceMib,
        b.machine().wire());
    return b;
  }

  private void runAndRelease(String name, TemplateBuild b) {
    try {
      b.run();
    } finally {
      active.remove(name, b);
      b.release();
    }
  }

  /** True while any sandbox (in any state) uses the template. */
  public boolean inUse(String name) {
    return repo.inUse(name);
  }

  /** The build in progress for this template, if any: phase, layer progress, live log. */
  public Optional<TemplateBuild> activeBuild(String name) {
    return Optional.ofNullable(active.get(name));
  }

  /** The log file of the template's last build. */
  public Path buildLogFile(String name) {
    return root.resolve(Template.validName(name)).resolve("build.log");
  }

  /**
   * The template NAME (its row: the current build, whatever its status), or its version
   * NAME:VERSION; empty for a name that is not one.
   */
  public Optional<Template> find(String ref) {
    Template.Ref r;
    try {
      r = Template.Ref.parse(ref);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    if (r.version() > 0) return repo.version(r.name(), r.version()).map(this::fromVersion);
    return repo.find(r.name()).map(row -> fromRow(row, builtVersion(row, () -> repo.version(row.name(), 0).map(TemplateRepository.Version::version).orElse(0))));
  }

  /**
   * The template to make sandboxes from: NAME:VERSION as named, or for NAME the current build if
   * it is built, else its latest version (a rebuild is running, or failed: NAME still means the
   * latest ready one).
   */
  public Template ready(String ref) {
    Template.Ref r = Template.Ref.parse(ref);
    if (r.version() > 0) {
      return repo.version(r.name(), r.version()).map(this::fromVersion).orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND,
          "template '" + r.name() + "' has no version " + r.version() + (repo.find(r.name()).isPresent() ? " (kiln template versions " + r.name() + " lists them)" : "")));
    }
    Template t = find(r.name()).orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + r.name() + "'"));
    if (t.built()) return t;
    Optional<TemplateRepository.Version> latest = repo.version(r.name(), 0);
    if (latest.isPresent()) return fromVersion(latest.get());
    throw new KilnException(ErrorCode.TEMPLATE_NOT_READY, "template '" + r.name() + "' is " + t.status().name().toLowerCase()
        + t.error().map(e -> " (" + e + ")").orElse("") + ", not ready");
  }

  public List<Template> list() {
    Map<String, Integer> latest = repo.latestVersions();
    return repo.all().stream().map(row -> fromRow(row, builtVersion(row, () -> latest.getOrDefault(row.name(), 0)))).toList();
  }

  /** The template's versions, newest first. */
  public List<TemplateRepository.Version> versions(String name) {
    return repo.versions(Template.validName(name));
  }

  /** Pins or unpins NAME:VERSION: a pinned version stays until unpinned, used or not. */
  public void pin(String ref, boolean pinned) {
    Template.Ref r = Template.Ref.parse(ref);
    if (r.version() == 0) throw new KilnException(ErrorCode.INVALID_REQUEST, "name the version to pin, as in " + r.name() + ":3");
    if (!repo.pin(r.name(), r.version(), pinned)) throw new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "template '" + r.name() + "' has no version " + r.version());
    log.info("template version {} template={} version={}", pinned ? "pinned" : "unpinned", r.name(), r.version());
  }

  /** Removes versions no longer needed (not the latest, not pinned, no sandbox made from them); their images go with the next collection. */
  public int pruneVersions() {
    int n = repo.pruneVersions();
    if (n > 0) log.info("template versions removed count={}", n);
    return n;
  }

  /** The images of every version: kept while their versions are. */
  public List<Path> versionImages() {
    return repo.versionImages().stream().map(p -> artifacts.local(Path.of(p))).toList();
  }

  private static int builtVersion(TemplateRow row, java.util.function.IntSupplier latest) {
    return Template.built(Template.Status.valueOf(row.status()), row.rootfsPath().isPresent()) ? latest.getAsInt() : 0;
  }

  private Template fromVersion(TemplateRepository.Version v) {
    return fromRow(v.row(), v.version());
  }

  public void delete(String name) {
    find(name).orElseThrow(() -> new KilnException(ErrorCode.TEMPLATE_NOT_FOUND, "no template named '" + name + "'"));
    if (active.containsKey(name)) throw new KilnException(ErrorCode.TEMPLATE_BUSY, "template '" + name + "' is being built; delete it when the build ends");
    if (find(name).map(t -> t.status() == Template.Status.SNAPSHOTTING).orElse(false)) {
      throw new KilnException(ErrorCode.TEMPLATE_BUSY, "template '" + name + "' is being snapshotted; delete it once its status is ready");
    }
    if (!repo.deleteIfUnused(name)) {
      throw new KilnException(ErrorCode.TEMPLATE_IN_USE, "template '" + name + "' is used by sandboxes; delete them first");
    }
    // Its image and snapshots are artifacts, collected once nothing (a checkpoint, say) is built on them; so are a legacy directory's.
    try (var entries = Files.newDirectoryStream(root.resolve(name), p -> !Artifacts.LEGACY_NAMES.contains(p.getFileName().toString()))) {
      for (Path p : entries) AtomicFiles.deleteTree(p);
      Files.deleteIfExists(root.resolve(name));
    } catch (java.nio.file.DirectoryNotEmptyException | java.nio.file.NoSuchFileException e) {
      // legacy artifacts remain until collected
    } catch (IOException e) {
      log.warn("template={} deleted but its files remain: {}", name, e.toString());
    }
    log.info("template deleted template={}", name);
    deletedListeners.forEach(l -> l.accept(name));
  }

  /** The row's config column: the image config's fields, and the template's runtime under "runtime" when it has one. */
  static String configJson(ImageConfig c, TemplateRuntime runtime) {
    com.fasterxml.jackson.databind.node.ObjectNode n = JSON.valueToTree(c);
    if (!runtime.equals(TemplateRuntime.NONE)) n.set("runtime", JSON.valueToTree(runtime));
    return n.toString();
  }

  private record StoredConfig(ImageConfig image, TemplateRuntime runtime) {}

  private static StoredConfig config(Optional<String> json) {
    if (json.isEmpty()) return new StoredConfig(ImageConfig.NONE, TemplateRuntime.NONE);
    try {
      com.fasterxml.jackson.databind.node.ObjectNode n = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(json.get());
      com.fasterxml.jackson.databind.JsonNode runtime = n.remove("runtime");
      return new StoredConfig(JSON.treeToValue(n, ImageConfig.class),
          runtime == null ? TemplateRuntime.NONE : JSON.treeToValue(runtime, TemplateRuntime.class));
    } catch (JsonProcessingException | ClassCastException e) {
      throw new IllegalStateException("stored image config is not readable: " + e.getMessage(), e);
    }
  }

  /** The row's image is read as this data directory's copy of it (a row another node wrote names the image under its own). */
  private Template fromRow(TemplateRow r, int version) {
    StoredConfig c = config(r.configJson());
    return new Template(r.name(), Template.Status.valueOf(r.status()), r.source(), r.rootfsPath().map(p -> artifacts.local(Path.of(p))), r.rootfsBytes(),
        r.error(), r.createdAt(), r.updatedAt(), r.imageDigest(), c.image(), r.freeSpaceMib(),
        Machine.valueOf(r.machine()), r.owner(), c.runtime(), version);
  }
}
