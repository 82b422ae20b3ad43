package dev.kiln.build;

import dev.kiln.agent.AgentException;
import dev.kiln.agent.ExitStatus;
import dev.kiln.image.BuildOptions;
import dev.kiln.image.DockerfileBuilder;
import dev.kiln.image.RootfsImages;
import dev.kiln.image.TemplateRuntime;
import dev.kiln.sandbox.BuildVm;
import dev.kiln.sandbox.BuildVms;
import dev.kiln.sandbox.UserResolver;
import dev.kiln.vmm.DiskLayers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * One Dockerfile build, stage by stage: each instruction folded into the stage's cache key; a step
 * that changes the disk (RUN, COPY, ADD, WORKDIR) taken from the cache when its key is there, else
 * run in the stage's build VM (started on the disk the stage has reached, on the first step that
 * misses) and frozen into a layer the cache keeps. The last stage's disk becomes the template's
 * image.
 */
final class BuildRun implements AutoCloseable {
  private final Dockerfile dockerfile;
  private final BuildContext context;
  private final BuildRequest request;
  private final DockerfileBuilder.Progress progress;
  private final BuildSettings settings;
  private final BaseImages bases;
  private final StepCache cache;
  private final BuildVms vms;
  private final BuildRecord record;
  private final Path work;
  private final CopyPlans copies;
  private final int totalSteps;
  private final List<StageState> stages = new ArrayList<>();
  private final Map<String, Integer> aliases = new HashMap<>();
  /** VMs booted on a finished stage's (or another image's) disk, to copy files out of with COPY --from. */
  private final Map<Path, BuildVm> readers = new HashMap<>();
  /** The most of RUN output one build's log keeps. */
  static final long MAX_OUTPUT_BYTES = 16L << 20;
  private BuildVm vm;
  private int step;
  private long outputBytes;
  private boolean outputCut;

  BuildRun(Dockerfile dockerfile, BuildContext context, BuildRequest request, DockerfileBuilder.Progress progress,
      BuildSettings settings, BaseImages bases, StepCache cache, BuildVms vms, BuildRecord record, Path work) {
    this.dockerfile = dockerfile;
    this.context = context;
    this.request = request;
    this.progress = progress;
    this.settings = settings;
    this.bases = bases;
    this.cache = cache;
    this.vms = vms;
    this.record = record;
    this.work = work;
    this.copies = new CopyPlans(context, bases, progress, request.owner(), work);
    this.totalSteps = (int) dockerfile.instructions().stream().filter(i -> !(i instanceof Instruction.Arg) || stagesBefore(i) > 0).count();
  }

  private int stagesBefore(Instruction i) {
    int n = 0;
    for (Instruction x : dockerfile.instructions()) {
      if (x == i) return n;
      if (x instanceof Instruction.From) n++;
    }
    return n;
  }

  /** Runs every stage; returns the last one's state, its disk the image to be. */
  StageState run() throws Exception {
    Map<String, String> global = new LinkedHashMap<>();
    for (Instruction.Arg a : dockerfile.globalArgs()) {
      String v = request.buildArgs().containsKey(a.name()) ? request.buildArgs().get(a.name())
          : a.defaultValue().map(d -> ShellWords.expand(d, global::get, a.line())).orElse(null);
      if (v != null) global.put(a.name(), v);
    }
    for (List<Instruction> stage : dockerfile.stages()) {
      StageState s = from((Instruction.From) stage.getFirst(), global);
      for (Instruction i : stage.subList(1, stage.size())) apply(s, i, global);
      closeVm();
      stages.add(s);
    }
    return stages.getLast();
  }

  private StageState from(Instruction.From f, Map<String, String> global) throws Exception {
    step++;
    long t0 = System.nanoTime();
    String image = ShellWords.expand(f.image(), global::get, f.line());
    StageState s;
    Integer earlier = aliases.get(image.toLowerCase(Locale.ROOT));
    if (earlier != null) {
      s = stages.get(earlier).copy();
      progress.log(prefix() + "FROM " + image + " (stage " + earlier + ")");
    } else {
      BaseImages.Base b = bases.resolve(image, progress, work, request.owner());
      s = new StageState(b.key(), b.disk(), b.config());
      progress.log(prefix() + "FROM " + image + " (" + b.describe() + ")");
    }
    f.alias().ifPresent(a -> aliases.put(a, stages.size()));
    record.step(new BuildRecord.Step(step, f.line(), "FROM " + image, BuildRecord.CONFIG, ms(t0)));
    return s;
  }

  private void apply(StageState s, Instruction i, Map<String, String> global) throws Exception {
    step++;
    long t0 = System.nanoTime();
    switch (i) {
      case Instruction.Arg a -> {
        String v = request.buildArgs().containsKey(a.name()) ? request.buildArgs().get(a.name())
            : a.defaultValue().map(d -> ShellWords.expand(d, s::lookup, a.line())).orElse(global.get(a.name()));
        if (v != null) s.args.put(a.name(), v);
        else s.args.remove(a.name());
        config(s, i, "ARG " + a.name() + (v == null ? "" : "=" + v), t0);
      }
      case Instruction.Env e -> {
        List<String> done = new ArrayList<>();
        for (String kv : e.assignments()) {
          int eq = kv.indexOf('=');
          String name = kv.substring(0, eq);
          String value = ShellWords.expand(kv.substring(eq + 1), s::lookup, e.line());
          s.env.put(name, value);
          done.add(name + "=" + value);
        }
        config(s, i, "ENV " + String.join(" ", done), t0);
      }
      case Instruction.Label l -> {
        for (String kv : l.assignments()) {
          int eq = kv.indexOf('=');
          s.labels.put(ShellWords.expand(kv.substring(0, eq), s::lookup, l.line()), ShellWords.expand(kv.substring(eq + 1), s::lookup, l.line()));
        }
        config(s, i, "LABEL " + s.labels, t0);
      }
      case Instruction.User u -> {
        s.user = ShellWords.expand(u.user(), s::lookup, u.line());
        config(s, i, "USER " + s.user, t0);
      }
      case Instruction.Expose x -> {
        for (String p : ShellWords.split(String.join(" ", x.ports()), s::lookup, x.line())) {
          String[] pp = p.split("/", 2);
          if (!pp[0].matches("\\d{1,5}") || Integer.parseInt(pp[0]) < 1 || Integer.parseInt(pp[0]) > 65535
              || pp.length == 2 && !pp[1].equalsIgnoreCase("tcp") && !pp[1].equalsIgnoreCase("udp")) {
            throw new DockerfileException(x.line(), "EXPOSE takes ports such as 8080 or 8080/tcp, got '" + p + "'");
          }
          if (pp.length == 1 || pp[1].equalsIgnoreCase("tcp")) s.exposed.add(Integer.parseInt(pp[0]));
        }
        config(s, i, "EXPOSE " + s.exposed, t0);
      }
      case Instruction.Cmd c -> {
        s.cmd = c.command().argv(s.shell);
        s.commandFromDockerfile = true;
        config(s, i, "CMD " + s.cmd, t0);
      }
      case Instruction.Entrypoint e -> {
        s.entrypoint = e.command().argv(s.shell);
        // As in Docker: an ENTRYPOINT resets the CMD an earlier stage or the base image set.
        s.cmd = List.of();
        s.commandFromDockerfile = true;
        config(s, i, "ENTRYPOINT " + s.entrypoint, t0);
      }
      case Instruction.Shell sh -> {
        s.shell = sh.argv();
        config(s, i, "SHELL " + s.shell, t0);
      }
      case Instruction.Volume v -> {
        progress.log(prefix() + "VOLUME " + v.raw() + ": a sandbox's disk is whole; nothing to mount");
        record.step(new BuildRecord.Step(step, i.line(), "VOLUME " + v.raw(), BuildRecord.CONFIG, ms(t0)));
      }
      case Instruction.Workdir w -> {
        String dir = s.inGuest(ShellWords.expand(w.path(), s::lookup, w.line()));
        s.workdir = dir;
        diskStep(s, i, "WORKDIR " + dir, List.of("WORKDIR", dir), () -> vm.agent().files().mkdir(dir, 0755, true));
      }
      case Instruction.Run r -> {
        List<String> argv = r.command().argv(s.shell);
        List<String> parts = new ArrayList<>(List.of("RUN", String.join("\0", argv), s.user, s.cwd()));
        s.runEnv().forEach((k, v) -> parts.add(k + "=" + v));
        diskStep(s, i, "RUN " + r.command().canonical(), parts, () -> run(s, r, argv));
      }
      case Instruction.Copy c -> copy(s, c);
      case Instruction.From f -> throw new IllegalStateException("FROM inside a stage at line " + f.line());
    }
  }

  private void config(StageState s, Instruction i, String what, long t0) {
    s.key = StepCache.key(s.key, List.of(what));
    progress.log(prefix() + what);
    record.step(new BuildRecord.Step(step, i.line(), what, BuildRecord.CONFIG, ms(t0)));
  }

  @FunctionalInterface
  private interface Work {
    void run() throws Exception;
  }

  /** A step that changes the disk: from the cache if its key is there, else run in the stage's VM and frozen into a layer. */
  private void diskStep(StageState s, Instruction i, String what, List<String> keyParts, Work work) throws Exception {
    long t0 = System.nanoTime();
    String key = StepCache.key(s.key, keyParts);
    Optional<Path> hit = cache.find(key);
    if (hit.isPresent()) {
      closeVm(); // its disk is no longer where the stage is
      s.key = key;
      s.disk = hit.get();
      progress.log(prefix() + what + ": cached");
      record.step(new BuildRecord.Step(step, i.line(), what, BuildRecord.CACHED, ms(t0)));
      return;
    }
    progress.log(prefix() + what);
    if (vm == null) vm = startVm(s.disk, settings.buildVm(request.options()));
    try {
      work.run();
    } catch (DockerfileException e) {
      throw e;
    } catch (AgentException | IOException | IllegalArgumentException e) {
      throw new DockerfileException(i.line(), what + ": " + e.getMessage());
    }
    Path layer = vm.commit();
    cache.put(key, layer);
    vm.recorded(layer);
    s.key = key;
    s.disk = layer;
    long took = ms(t0);
    progress.log(prefix() + "done in " + took + " ms");
    record.step(new BuildRecord.Step(step, i.line(), what, BuildRecord.RAN, took));
  }

  private BuildVm startVm(Path disk, BuildVms.Settings vmSettings) throws Exception {
    record.vmStarted();
    long t0 = System.nanoTime();
    BuildVm started = vms.start(disk, vmSettings);
    progress.log("build VM " + started.name() + " booted in " + ms(t0) + " ms");
    return started;
  }

  private void run(StageState s, Instruction.Run r, List<String> argv) throws Exception {
    UserResolver.Ids ids = s.user.isEmpty() ? UserResolver.Ids.AGENT : UserResolver.of(vm.agent()).resolve("the build VM", s.user);
    String label = prefix();
    ExitStatus status = GuestCommands.run(vm.agent(), argv, s.runEnv(), s.cwd(), ids.uid(), ids.gid(), settings.stepTimeout(), line -> output(label, line));
    if (status.timedOut()) throw new DockerfileException(r.line(), "RUN did not finish in " + settings.stepTimeout().toMinutes() + " minutes (builds.stepTimeoutMinutes)");
    if (status.exitCode() != 0) {
      throw new DockerfileException(r.line(), "RUN " + r.command().canonical() + " failed: "
          + (status.signal() != 0 ? "killed by signal " + status.signal() : "exit code " + status.exitCode()));
    }
  }

  /** A RUN's output line into the log, until the build has logged {@value #MAX_OUTPUT_BYTES} bytes of it: the guest writes it, the daemon's disk keeps it. */
  private void output(String label, String line) {
    outputBytes += line.length() + 1;
    if (outputBytes <= MAX_OUTPUT_BYTES) {
      progress.log(label + line);
    } else if (!outputCut) {
      outputCut = true;
      progress.log(label + "(the build's output beyond " + (MAX_OUTPUT_BYTES >> 20) + " MiB is not logged)");
    }
  }

  private void copy(StageState s, Instruction.Copy c) throws Exception {
    CopyPlans.Plan p = copies.plan(s, c, this::stage);
    diskStep(s, c, p.what(), p.keyParts(), () -> p.copy().into(vm.agent(), disk -> reader(disk).agent()));
  }

  /** An earlier stage by its name or number. */
  private Optional<StageState> stage(String nameOrIndex) {
    Integer i = aliases.get(nameOrIndex);
    if (i == null && nameOrIndex.matches("\\d{1,4}") && Integer.parseInt(nameOrIndex) < stages.size()) i = Integer.parseInt(nameOrIndex);
    return i == null ? Optional.empty() : Optional.of(stages.get(i));
  }

  private BuildVm reader(Path disk) throws Exception {
    BuildVm r = readers.get(disk);
    if (r == null) {
      r = startVm(disk, new BuildVms.Settings(1, 256, 0, Optional.empty()));
      readers.put(disk, r);
    }
    return r;
  }

  private void closeVm() {
    if (vm != null) vm.close();
    vm = null;
  }

  /** The runtime the template gets: the request's settings over the Dockerfile's (its own ENTRYPOINT/CMD, its EXPOSE). */
  TemplateRuntime runtime(StageState last) {
    BuildOptions o = request.options();
    List<String> start = o.start().map(cmd -> cmd.isBlank() ? List.<String>of() : BuildOptions.shell(cmd))
        .orElseGet(() -> last.commandFromDockerfile ? last.containerCommand().orElse(List.of()) : List.of());
    List<String> ready = o.readyCommand().map(cmd -> cmd.isBlank() ? List.<String>of() : BuildOptions.shell(cmd)).orElse(List.of());
    return new TemplateRuntime(start, ready, o.readyPort().orElse(0), o.readyTimeoutSeconds().orElse(0), last.exposed, o.vcpus().orElse(0),
        o.memoryMib().orElse(0));
  }

  /**
   * The last stage's disk as one image artifact, cached under the key of everything that made it
   * and the runtime it is built with: a rebuild with nothing changed ends on the very image it had,
   * whose snapshots still hold.
   */
  RootfsImages.Made image(StageState last, dev.kiln.image.Artifacts artifacts, StepCache cache) throws IOException {
    String key = StepCache.key(last.key, List.of("image", runtime(last).toString()));
    Optional<Path> cached = cache.find(key);
    if (cached.isPresent()) {
      progress.log("image: cached, the one the last build with these steps made");
      return new RootfsImages.Made(cached.get().getParent(), java.nio.file.Files.size(cached.get()));
    }
    RootfsImages.Made made = RootfsImages.fromDisk(artifacts, target -> DiskLayers.exportRaw(last.disk, target, java.time.Duration.ofMinutes(30)));
    cache.put(key, made.rootfs());
    return made;
  }

  private String prefix() {
    return "step " + step + "/" + totalSteps + ": ";
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }

  @Override
  public void close() {
    closeVm();
    readers.values().forEach(BuildVm::close);
    readers.clear();
  }

}
