package dev.kiln.build;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.config.BuildsConfig;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.BuildOptions;
import dev.kiln.image.DockerfileBuilder;
import dev.kiln.image.RootfsImages;
import dev.kiln.image.TemplateService;
import dev.kiln.image.TemplateSource;
import dev.kiln.sandbox.BuildVms;
import dev.kiln.store.BuildCacheRepository;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Dockerfile builds on this daemon (docs/adr/0025): a request's context is received and its
 * Dockerfile checked before the build is queued (so a bad one is a 400 naming its line); the build
 * then runs stage by stage in build VMs ({@link BuildRun}), and its record goes beside its log.
 * The step cache is collected after each build, while no build runs.
 */
public final class DockerfileBuilds implements DockerfileBuilder {
  private static final Logger log = LoggerFactory.getLogger(DockerfileBuilds.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String RECORD = "build.json";
  private final TemplateService templates;
  private final BuildVms vms;
  private final StepCache cache;
  private final BuildSettings settings;
  private final BaseImages bases;
  private final Path scratch;
  /** Builds share it; the cache's collection takes it alone, so no build loses a step it is about to use. */
  private final ReentrantReadWriteLock collection = new ReentrantReadWriteLock();

  public DockerfileBuilds(Path dataDir, TemplateService templates, BuildVms vms, BuildCacheRepository cacheRows, String nodeId, BuildsConfig config) {
    this.templates = templates;
    this.vms = vms;
    this.settings = new BuildSettings(config);
    this.cache = new StepCache(cacheRows, nodeId, config.cacheMaxMib() << 20, Duration.ofHours(config.cacheMaxAgeHours()));
    this.bases = new BaseImages(templates, cache);
    this.scratch = dataDir.resolve("builds");
  }

  /** At daemon start: contexts and unpacked images that builds a restart interrupted left. */
  public void removeInterrupted() {
    try {
      AtomicFiles.deleteTree(scratch);
    } catch (IOException e) {
      log.warn("build scratch space {} not removed: {}", scratch, e.toString());
    }
  }

  /**
   * Receives a build's context and checks its Dockerfile (syntax, instructions, COPY sources that
   * name no variable): the source to submit, or a refusal with nothing left behind.
   */
  @Override
  public TemplateSource.Dockerfile receive(InputStream tar, String dockerfile, Map<String, String> buildArgs, BuildOptions options) throws IOException {
    if (options.internet() && !vms.networkAvailable()) {
      throw new KilnException(ErrorCode.NETWORK_UNAVAILABLE, "this daemon has no sandbox networking, so builds cannot reach the internet; "
          + "build with network=none (RUN steps then have no network at all)");
    }
    Path dir = scratch.resolve("context-" + random());
    BuildContext context = BuildContext.receive(tar, dir, settings.maxContextBytes(), "builds.maxContextMib");
    try {
      Dockerfile df = Dockerfile.parse(context.dockerfile(dockerfile));
      for (Instruction i : df.instructions()) {
        if (i instanceof Instruction.Copy c && c.from().isEmpty()) {
          for (String s : c.sources()) if (!s.contains("$")) context.select(s, c.line());
        }
      }
      return new TemplateSource.Dockerfile(dir, dockerfile, buildArgs, options);
    } catch (IOException | RuntimeException e) {
      AtomicFiles.deleteTree(dir);
      throw e;
    }
  }

  @Override
  public Built build(String template, String owner, TemplateSource.Dockerfile source, Progress progress) throws Exception {
    BuildRecord record = new BuildRecord();
    Path work = scratch.resolve("unpack-" + random());
    BuildContext context = BuildContext.open(source.context());
    Dockerfile df = Dockerfile.parse(context.dockerfile(source.dockerfile()));
    collection.readLock().lock();
    try (BuildRun run = new BuildRun(df, context, new BuildRequest(source.buildArgs(), source.options(), owner), progress, settings, bases, cache, vms,
        record, work)) {
      StageState last = run.run();
      run.close(); // the VMs go before the image is written
      RootfsImages.Made image = run.image(last, templates.artifacts(), cache);
      String summary = "steps_ran=" + record.count(BuildRecord.RAN) + " steps_cached=" + record.count(BuildRecord.CACHED) + " vms=" + record.vmsStarted();
      progress.log("image " + image.bytes() / BuildSettings.MIB + " MiB written; " + summary.replace('_', ' '));
      record.ended("built", null);
      return new Built(image.rootfs(), image.bytes(), last.config(), run.runtime(last), summary);
    } catch (Exception e) {
      record.ended("failed", e.getMessage());
      throw e;
    } finally {
      collection.readLock().unlock();
      writeRecord(template, record);
      AtomicFiles.deleteTree(work);
      collect();
    }
  }

  /** The record of the template's last Dockerfile build, if it had one. */
  @Override
  public Optional<Map<String, Object>> record(String template) throws IOException {
    Path f = templates.buildLogFile(template).resolveSibling(RECORD);
    if (!Files.isRegularFile(f)) return Optional.empty();
    @SuppressWarnings("unchecked")
    Map<String, Object> m = JSON.readValue(f.toFile(), Map.class);
    return Optional.of(m);
  }

  private void writeRecord(String template, BuildRecord record) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("result", record.result());
    if (record.error() != null) m.put("error", record.error());
    m.put("vmsStarted", record.vmsStarted());
    m.put("stepsRan", record.count(BuildRecord.RAN));
    m.put("stepsCached", record.count(BuildRecord.CACHED));
    List<Map<String, Object>> steps = record.steps().stream().map(s -> {
      Map<String, Object> sm = new LinkedHashMap<>();
      sm.put("step", s.step());
      sm.put("line", s.line());
      sm.put("instruction", s.instruction());
      sm.put("outcome", s.outcome());
      sm.put("ms", s.ms());
      return sm;
    }).toList();
    m.put("steps", steps);
    try {
      AtomicFiles.write(templates.buildLogFile(template).resolveSibling(RECORD), JSON.writeValueAsBytes(m));
    } catch (IOException e) {
      log.warn("template={} build record not written: {}", template, e.toString());
    }
  }

  /** The cache by age and size, when no build is running; the files go with the collection of unused disks. */
  private void collect() {
    if (!collection.writeLock().tryLock()) return; // another build runs: the last one to end collects
    try {
      if (cache.collect() > 0) vms.collectUnused();
    } finally {
      collection.writeLock().unlock();
    }
  }

  private static String random() {
    byte[] b = new byte[8];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

}
