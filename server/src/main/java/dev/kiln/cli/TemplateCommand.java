package dev.kiln.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "template", description = "Build, list, inspect, snapshot and remove templates.",
    subcommands = {TemplateCommand.Build.class, TemplateCommand.Logs.class, TemplateCommand.Import.class, TemplateCommand.ListTemplates.class,
        TemplateCommand.Get.class, TemplateCommand.Versions.class, TemplateCommand.Pin.class, TemplateCommand.Unpin.class, TemplateCommand.Snapshot.class,
        TemplateCommand.Remove.class})
final class TemplateCommand {
  /** import takes the root filesystem from exactly one place. */
  private static void requireOneSource(Object command, String image, Path dir) {
    if ((image == null) == (dir == null)) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(command), "give exactly one of --image and --dir");
    }
  }

  static final List<String> COLUMNS = List.of("name", "version", "status", "machine", "source", "sizeBytes", "updatedAt");

  private static final String MACHINE_HELP = "the machine its snapshot is taken on and its sandboxes run on unless they ask for another "
      + "(default: microvm, or the template's when rebuilt)";

  /** The daemon would refuse another value too, but in the API's words ("field 'machine'"), not the flag's. */
  private static void checkMachine(Object command, String machine) {
    if (machine != null && !List.of("microvm", "q35").contains(machine)) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(command), "--machine must be microvm or q35, got '" + machine + "'");
    }
  }

  @Command(name = "build", description = "Build a template through the daemon from an OCI image (registry or oci:/layout[:tag]), a directory on its host, "
      + "or a Dockerfile (each step run in a microVM).",
      footer = {"", "Examples:", "  kiln template build py --image python:3.12-slim", "  kiln template build app --image oci:/path/layout:tag",
          "  kiln template build mytemplate --dir /path/to/rootfs", "  kiln template build py-q35 --image python:3.12-slim --machine q35",
          "  kiln template build web --dockerfile examples/web/Dockerfile --build-arg GREETING=hi",
          "  kiln template build web --dockerfile examples/web/Dockerfile --start 'python3 -m http.server 9000' --ready-port 9000"})
  static final class Build implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;
    @Option(names = "--image", description = "image reference (python:3.12-slim, host:5000/app@sha256:...) or oci:/path[:tag]") String image;
    @Option(names = "--dir", description = "root filesystem directory (absolute path on the daemon's host)") Path dir;
    @Option(names = "--dockerfile", paramLabel = "PATH", description = "a Dockerfile to build (its RUN steps run in microVMs, each step cached)") Path dockerfile;
    @Option(names = "--context", paramLabel = "DIR", description = "the build context sent with --dockerfile (default: the Dockerfile's directory)") Path context;
    @Option(names = "--build-arg", paramLabel = "NAME=VALUE", description = "a value for an ARG of the Dockerfile (repeatable)") List<String> buildArgs;
    @Option(names = "--start", paramLabel = "COMMAND", description = "start command (run by /bin/sh) left running in the template's snapshot; "
        + "overrides the Dockerfile's ENTRYPOINT/CMD ('' for none)") String start;
    @Option(names = "--ready-command", paramLabel = "COMMAND", description = "readiness check: a command that must exit 0 before the snapshot is taken") String readyCommand;
    @Option(names = "--ready-port", paramLabel = "PORT", description = "readiness check: a TCP port that must be listening (default: the first EXPOSE)") Integer readyPort;
    @Option(names = "--ready-timeout", paramLabel = "SECONDS", description = "how long the readiness check may take (default 60)") Integer readyTimeout;
    @Option(names = "--disk-mib", description = "root disk of the build VMs (default: the daemon's builds.diskMib)") Long diskMib;
    @Option(names = "--vcpus", description = "default vCPUs of the template's sandboxes (its snapshot is taken at this size)") Integer vcpus;
    @Option(names = "--memory-mib", description = "default memory of the template's sandboxes, in MiB") Long memoryMib;
    @Option(names = "--network", paramLabel = "internet|none", defaultValue = "internet", description = "RUN steps' network (default ${DEFAULT-VALUE}; "
        + "never the host or the metadata address)") String network;
    @Option(names = "--free-space-mib", defaultValue = "512", description = "free space in the root filesystem (default ${DEFAULT-VALUE})") long freeMib;
    @Option(names = "--machine", paramLabel = "microvm|q35", description = MACHINE_HELP) String machine;
    @Option(names = "--username", description = "registry user (the password is read from stdin)") String username;
    @Option(names = "--no-wait", description = "return once the build is queued") boolean noWait;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      if ((image != null ? 1 : 0) + (dir != null ? 1 : 0) + (dockerfile != null ? 1 : 0) != 1) {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "give exactly one of --image, --dir and --dockerfile");
      }
      checkMachine(this, machine);
      if (dockerfile != null) return buildDockerfile();
      Map<String, Object> body = new java.util.LinkedHashMap<>();
      body.put("name", name);
      body.put("freeSpaceMib", freeMib);
      if (machine != null) body.put("machine", machine);
      if (image != null) body.put("image", image);
      if (dir != null) body.put("directory", dir.toAbsolutePath().toString());
      if (username != null) body.put("credentials", Map.of("username", username, "password", new String(System.in.readAllBytes()).strip()));
      Api api = Api.fromEnvironment();
      BuildProgress progress = new BuildProgress(System.err, System.console() != null);
      return end(api, api.post("/v1/templates", body), progress::show);
    }

    /**
     * Unless --no-wait, waits for the build to end (ready, with its snapshot, or failed), showing
     * the template as it goes; prints it, and exits 1 when it failed.
     */
    private int end(Api api, com.fasterxml.jackson.databind.JsonNode queued, java.util.function.Consumer<com.fasterxml.jackson.databind.JsonNode> show)
        throws Exception {
      var t = queued;
      if (!noWait) {
        while (!t.path("status").asText().equals("ready") && !t.path("status").asText().equals("failed")) {
          show.accept(t);
          Thread.sleep(250);
          t = api.get("/v1/templates/" + Api.q(name));
        }
        show.accept(t);
      }
      output.print(t, COLUMNS);
      if (t.path("status").asText().equals("failed")) {
        System.err.println("kiln: template " + name + " failed: " + t.path("error").asText());
        return KilnCli.EXIT_API_ERROR;
      }
      return 0;
    }

    /** A Dockerfile build: the context streamed as a tar, the build log followed to its end, then the wait for its snapshot. */
    private int buildDockerfile() throws Exception {
      if (!java.nio.file.Files.isRegularFile(dockerfile)) throw new UserError("no Dockerfile at " + dockerfile, KilnCli.EXIT_USAGE);
      Path contextDir = context != null ? context : dockerfile.toAbsolutePath().getParent();
      if (!java.nio.file.Files.isDirectory(contextDir)) throw new UserError("the build context " + contextDir + " is not a directory", KilnCli.EXIT_USAGE);
      if (!List.of("internet", "none").contains(network)) {
        throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--network must be internet or none, got '" + network + "'");
      }
      ContextArchive archive = new ContextArchive(contextDir, dockerfile);
      StringBuilder query = new StringBuilder("/v1/templates?name=" + Api.q(name) + "&dockerfile=" + Api.q(archive.dockerfileName()) + "&network=" + network);
      for (String a : buildArgs == null ? List.<String>of() : buildArgs) {
        if (!a.contains("=")) throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this), "--build-arg takes NAME=VALUE, got '" + a + "'");
        query.append("&build-arg=").append(Api.q(a));
      }
      if (start != null) query.append("&start=").append(Api.q(start));
      if (readyCommand != null) query.append("&readyCommand=").append(Api.q(readyCommand));
      if (readyPort != null) query.append("&readyPort=").append(readyPort);
      if (readyTimeout != null) query.append("&readyTimeoutSeconds=").append(readyTimeout);
      if (diskMib != null) query.append("&diskMib=").append(diskMib);
      if (vcpus != null) query.append("&vcpus=").append(vcpus);
      if (memoryMib != null) query.append("&memoryMib=").append(memoryMib);
      if (machine != null) query.append("&machine=").append(machine);
      Api api = Api.fromEnvironment();
      com.fasterxml.jackson.databind.JsonNode t;
      try {
        t = api.postStream(query.toString(), "application/x-tar", archive::open);
      } catch (RuntimeException e) {
        if (archive.failure() != null) throw new UserError("the build context could not be read: " + archive.failure().getMessage(), KilnCli.EXIT_USAGE);
        throw e;
      }
      if (!noWait) {
        try (var in = api.download("/v1/templates/" + Api.q(name) + "/logs")) {
          in.transferTo(System.err);
        }
      }
      // Then its snapshot: with a start command, ready means sandboxes come up with it running.
      return end(api, t, x -> { });
    }
  }

  @Command(name = "logs", description = "Print a template's build log; follows a build in progress.")
  static final class Logs implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;

    @Override
    public Integer call() throws Exception {
      try (var in = Api.fromEnvironment().download("/v1/templates/" + Api.q(name) + "/logs")) {
        in.transferTo(System.out);
      }
      return 0;
    }
  }

  @Command(name = "import", description = "Build a template directly into a data directory, without a running daemon (the installer does this for 'base').",
      footer = {"", "Example:", "  kiln template import base --dir build/rootfs/base --data-dir /var/lib/kiln"})
  static final class Import implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;
    @Option(names = "--dir", description = "root filesystem directory") Path dir;
    @Option(names = "--image", description = "image reference or oci:/path[:tag]") String image;
    @Option(names = "--free-space-mib", defaultValue = "512", description = "free space in the root filesystem (default ${DEFAULT-VALUE})") long freeMib;
    @Option(names = "--machine", paramLabel = "microvm|q35", description = MACHINE_HELP) String machine;
    @Option(names = "--data-dir", description = "the daemon's data directory (default /var/lib/kiln); stop the daemon first") Path dataDir;

    @Override
    public Integer call() throws Exception {
      requireOneSource(this, image, dir);
      checkMachine(this, machine);
      return TemplateImport.run(name, dir, image, freeMib, machine, dataDir);
    }
  }

  @Command(name = "list", aliases = "ls", description = "List templates.")
  static final class ListTemplates implements Callable<Integer> {
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get("/v1/templates").path("templates"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "get", aliases = "inspect", description = "Show one template: status, source, size, image config, snapshot (JSON unless -o table).")
  static final class Get implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;
    @Option(names = {"-o", "--output"}, paramLabel = "table|json", defaultValue = "json", description = "table or json (default: ${DEFAULT-VALUE})") Output.Format format;

    @Override
    public Integer call() throws Exception {
      Output.print(format, Api.fromEnvironment().get("/v1/templates/" + Api.q(name)), COLUMNS);
      return 0;
    }
  }

  @Command(name = "versions", description = "List a template's versions: every build that ended built is one, NAME:VERSION; NAME is the latest.",
      footer = {"", "Example:", "  kiln template versions base"})
  static final class Versions implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get("/v1/templates/" + Api.q(name) + "/versions").path("versions"),
          List.of("ref", "latest", "pinned", "sizeBytes", "createdAt"));
      return 0;
    }
  }

  /** Pins or unpins NAME:VERSION as given on the command line. */
  private static int pin(Object command, String ref, boolean pinned) {
    int colon = ref.lastIndexOf(':');
    if (colon <= 0 || !ref.substring(colon + 1).matches("[1-9][0-9]{0,8}")) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(command), "give the version as NAME:VERSION (e.g. base:2), got '" + ref + "'");
    }
    String path = "/v1/templates/" + Api.q(ref.substring(0, colon)) + "/versions/" + ref.substring(colon + 1) + "/pin";
    if (pinned) Api.fromEnvironment().post(path, Map.of());
    else Api.fromEnvironment().delete(path);
    return 0;
  }

  @Command(name = "pin", description = "Keep a version (NAME:VERSION) until unpinned, even when no sandbox uses it and newer ones exist.",
      footer = {"", "Example:", "  kiln template pin base:1"})
  static final class Pin implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME:VERSION", description = "the version") String ref;

    @Override
    public Integer call() {
      return pin(this, ref, true);
    }
  }

  @Command(name = "unpin", description = "Let a version go once it is not the latest and no sandbox uses it.",
      footer = {"", "Example:", "  kiln template unpin base:1"})
  static final class Unpin implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME:VERSION", description = "the version") String ref;

    @Override
    public Integer call() {
      return pin(this, ref, false);
    }
  }

  @Command(name = "snapshot", description = "(Re)take the template's snapshot: boot it once and save the VM, so creates restore instead of booting.")
  static final class Snapshot implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().post("/v1/templates/" + Api.q(name) + "/snapshot", Map.of()), List.of("vcpus", "memoryMib", "stateBytes"));
      return 0;
    }
  }

  @Command(name = "rm", aliases = "delete", description = "Delete a template (refused while sandboxes use it).")
  static final class Remove implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;

    @Override
    public Integer call() throws Exception {
      Api.fromEnvironment().delete("/v1/templates/" + Api.q(name));
      return 0;
    }
  }
}
