package dev.kiln.build;

import dev.kiln.agent.AgentConnection;
import dev.kiln.image.DockerfileBuilder;
import dev.kiln.sandbox.UserResolver;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * COPY and ADD as a build step: the instruction expanded, the files it names looked up (in the
 * context, with .dockerignore; or in an earlier stage or image), its cache key's parts (every
 * file's path, type, mode and SHA-256, or the source stage's key), and the work that copies them
 * into the build VM.
 */
final class CopyPlans {
  private static final String ARCHIVE = "(?i).*\\.(tar|tgz|tar\\.gz|tar\\.bz2|tbz2|tar\\.xz|txz|tar\\.zst)";
  private final BuildContext context;
  private final BaseImages bases;
  private final DockerfileBuilder.Progress progress;
  private final String owner;
  private final Path work;

  /** A COPY ready to run: how the log names it, its key's parts, and the copy itself. */
  record Plan(String what, List<String> keyParts, Copy copy) {}

  /** Copies into {@code target}; {@code reader} gives a guest booted on a source disk (an earlier stage's, an image's). */
  @FunctionalInterface
  interface Copy {
    void into(AgentConnection target, Readers reader) throws Exception;
  }

  @FunctionalInterface
  interface Readers {
    AgentConnection on(Path disk) throws Exception;
  }

  /** Where COPY --from finds a stage by name or number: its final state, if there is such a stage. */
  @FunctionalInterface
  interface Stages {
    Optional<StageState> named(String nameOrIndex);
  }

  CopyPlans(BuildContext context, BaseImages bases, DockerfileBuilder.Progress progress, String owner, Path work) {
    this.context = context;
    this.bases = bases;
    this.progress = progress;
    this.owner = owner;
    this.work = work;
  }

  Plan plan(StageState s, Instruction.Copy c, Stages stages) throws Exception {
    List<String> sources = new ArrayList<>();
    for (String raw : c.sources()) sources.add(ShellWords.expand(raw, s::lookup, c.line()));
    String expanded = s.inGuest(ShellWords.expand(c.dest(), s::lookup, c.line()));
    String dest = c.dest().endsWith("/") && !expanded.endsWith("/") ? expanded + "/" : expanded;
    Optional<String> chown = c.chown().map(o -> ShellWords.expand(o, s::lookup, c.line()));
    Optional<Integer> chmod = c.chmod().map(m -> Integer.parseInt(m, 8));
    List<String> parts = new ArrayList<>(List.of(c.keyword(), dest, chown.orElse(""), c.chmod().orElse("")));
    if (c.from().isPresent()) return fromStage(s, c, sources, dest, chown, chmod, parts, stages);
    List<BuildContext.Entry> selected = new ArrayList<>();
    for (String src : sources) {
      for (BuildContext.Entry e : context.select(src, c.line())) {
        if (c.add() && e.kind() == BuildContext.Entry.Kind.FILE && e.path().matches(ARCHIVE)) {
          throw new DockerfileException(c.line(), "ADD of a local archive (" + e.path() + ") is not supported: COPY it and extract it in a RUN step");
        }
        selected.add(e);
        parts.add(describe(e));
        if (e.kind() == BuildContext.Entry.Kind.DIRECTORY) for (BuildContext.Entry b : context.below(e.path())) parts.add(describe(b));
      }
    }
    return new Plan(c.keyword() + " " + String.join(" ", sources) + " " + dest, parts, (target, readers) -> {
      GuestCopy g = new GuestCopy(target, chmod);
      boolean intoDir = g.intoDirectory(dest, selected.size());
      for (BuildContext.Entry e : selected) fromContext(g, e, dest, intoDir);
      chown(target, g, chown);
    });
  }

  private Plan fromStage(StageState s, Instruction.Copy c, List<String> sources, String dest, Optional<String> chown, Optional<Integer> chmod,
      List<String> parts, Stages stages) throws Exception {
    String from = ShellWords.expand(c.from().get(), s::lookup, c.line()).toLowerCase(Locale.ROOT);
    for (String src : sources) {
      if (src.matches(".*[*?\\[].*")) throw new DockerfileException(c.line(), "COPY --from with a wildcard (" + src + ") is not supported; name the paths");
    }
    Optional<StageState> stage = stages.named(from);
    Path sourceDisk;
    String sourceKey;
    if (stage.isPresent()) {
      sourceDisk = stage.get().disk;
      sourceKey = stage.get().key;
    } else {
      BaseImages.Base b = bases.resolve(from, progress, work, owner);
      sourceDisk = b.disk();
      sourceKey = b.key();
    }
    parts.add("from=" + sourceKey);
    parts.addAll(sources);
    return new Plan("COPY --from=" + from + " " + String.join(" ", sources) + " " + dest, parts, (target, readers) -> {
      AgentConnection source = readers.on(sourceDisk);
      GuestCopy g = new GuestCopy(target, chmod);
      boolean intoDir = g.intoDirectory(dest, sources.size());
      for (String src : sources) g.fromGuest(source, src.startsWith("/") ? src : "/" + src, dest, intoDir);
      chown(target, g, chown);
    });
  }

  private String describe(BuildContext.Entry e) throws IOException {
    return e.path() + " " + e.kind() + " " + Integer.toOctalString(e.mode()) + " "
        + (e.kind() == BuildContext.Entry.Kind.FILE ? context.sha256(e) : e.linkTarget().orElse(""));
  }

  private void fromContext(GuestCopy g, BuildContext.Entry e, String dest, boolean intoDir) throws Exception {
    String name = e.path().contains("/") ? e.path().substring(e.path().lastIndexOf('/') + 1) : e.path();
    switch (e.kind()) {
      case FILE -> file(g, e, GuestCopy.placed(dest, intoDir, name));
      case SYMLINK -> g.symlink(GuestCopy.placed(dest, intoDir, name), e.linkTarget().orElseThrow());
      case DIRECTORY -> {
        String root = dest.endsWith("/") && dest.length() > 1 ? dest.substring(0, dest.length() - 1) : dest;
        g.directory(root, 0755);
        String prefix = e.path().isEmpty() ? "" : e.path() + "/";
        for (BuildContext.Entry b : context.below(e.path())) {
          String target = root + "/" + b.path().substring(prefix.length());
          switch (b.kind()) {
            case DIRECTORY -> g.directory(target, b.mode());
            case FILE -> file(g, b, target);
            case SYMLINK -> g.symlink(target, b.linkTarget().orElseThrow());
          }
        }
      }
    }
  }

  private void file(GuestCopy g, BuildContext.Entry e, String target) throws Exception {
    try (InputStream in = context.read(e)) {
      g.file(target, e.mode(), in);
    }
  }

  /** --chown: the names looked up in the target's own /etc/passwd and /etc/group, as Docker does. */
  private static void chown(AgentConnection target, GuestCopy g, Optional<String> chown) throws Exception {
    if (chown.isEmpty()) return;
    UserResolver.Ids ids = UserResolver.of(target).resolve("the build VM", chown.get());
    g.chown(ids.uid().orElse(0), ids.gid().orElse(0));
  }
}
