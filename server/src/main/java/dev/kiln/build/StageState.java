package dev.kiln.build;

import dev.kiln.image.oci.ImageConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Where a stage stands after each instruction: its disk (a template image or a cached step's
 * layer), the cache key of everything that made it, and the config the instructions so far set.
 * ARGs are the stage's own (declared in it); the environment is the image's and ENV's.
 */
final class StageState {
  static final List<String> DEFAULT_SHELL = List.of("/bin/sh", "-c");
  String key;
  Path disk;
  final Map<String, String> env = new LinkedHashMap<>();
  final Map<String, String> args = new LinkedHashMap<>();
  final Map<String, String> labels = new LinkedHashMap<>();
  final List<Integer> exposed = new ArrayList<>();
  String workdir = "";
  String user = "";
  List<String> shell = DEFAULT_SHELL;
  List<String> entrypoint = List.of();
  List<String> cmd = List.of();
  /** Whether ENTRYPOINT or CMD was set by this Dockerfile (in this stage or one it is FROM), not only by the base image. */
  boolean commandFromDockerfile;

  StageState(String key, Path disk, ImageConfig base) {
    this.key = key;
    this.disk = disk;
    env.putAll(base.envMap());
    workdir = base.workingDir();
    user = base.user();
    entrypoint = base.entrypoint();
    cmd = base.cmd();
  }

  /** A stage FROM an earlier one starts where that one ended (its ARGs are not carried, as in Docker). */
  StageState copy() {
    StageState s = new StageState(key, disk, ImageConfig.NONE);
    s.env.putAll(env);
    s.labels.putAll(labels);
    s.exposed.addAll(exposed);
    s.workdir = workdir;
    s.user = user;
    s.shell = shell;
    s.entrypoint = entrypoint;
    s.cmd = cmd;
    s.commandFromDockerfile = commandFromDockerfile;
    return s;
  }

  /** A variable for expansion: an ARG of the stage or an ENV (ENV wins, as in Docker). */
  String lookup(String name) {
    String v = env.get(name);
    return v != null ? v : args.get(name);
  }

  /** What a RUN sees: the stage's ARGs under its environment. */
  Map<String, String> runEnv() {
    Map<String, String> m = new LinkedHashMap<>(args);
    m.putAll(env);
    return m;
  }

  String cwd() {
    return workdir.isEmpty() ? "/" : workdir;
  }

  /** A path in the guest: absolute as given, else under the working directory. */
  String inGuest(String path) {
    String base = cwd();
    String full = path.startsWith("/") ? path : (base.endsWith("/") ? base : base + "/") + path;
    String clean = "/" + DockerIgnore.clean(full);
    return full.endsWith("/") && !clean.equals("/") ? clean + "/" : clean;
  }

  ImageConfig config() {
    List<String> e = new ArrayList<>();
    env.forEach((k, v) -> e.add(k + "=" + v));
    return new ImageConfig(e, entrypoint, cmd, workdir, user, "linux", "amd64");
  }

  /** The command a container would run: ENTRYPOINT then CMD. */
  Optional<List<String>> containerCommand() {
    List<String> argv = new ArrayList<>(entrypoint);
    argv.addAll(cmd);
    return argv.isEmpty() ? Optional.empty() : Optional.of(argv);
  }
}
