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
        TemplateCommand.Get.class, TemplateCommand.Snapshot.class, TemplateCommand.Remove.class})
final class TemplateCommand {
  /** build and import take the root filesystem from exactly one place. */
  private static void requireOneSource(Object command, String image, Path dir) {
    if ((image == null) == (dir == null)) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(command), "give exactly one of --image and --dir");
    }
  }

  static final List<String> COLUMNS = List.of("name", "status", "machine", "source", "sizeBytes", "updatedAt");

  private static final String MACHINE_HELP = "the machine its snapshot is taken on and its sandboxes run on unless they ask for another "
      + "(default: microvm, or the template's when rebuilt)";

  /** The daemon would refuse another value too, but in the API's words ("field 'machine'"), not the flag's. */
  private static void checkMachine(Object command, String machine) {
    if (machine != null && !List.of("microvm", "q35").contains(machine)) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(command), "--machine must be microvm or q35, got '" + machine + "'");
    }
  }

  @Command(name = "build", description = "Build a template through the daemon from an OCI image (registry or oci:/layout[:tag]) or a directory on its host.",
      footer = {"", "Examples:", "  kiln template build py --image python:3.12-slim", "  kiln template build app --image oci:/path/layout:tag",
          "  kiln template build mytemplate --dir /path/to/rootfs", "  kiln template build py-q35 --image python:3.12-slim --machine q35"})
  static final class Build implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NAME", description = "template name") String name;
    @Option(names = "--image", description = "image reference (python:3.12-slim, host:5000/app@sha256:...) or oci:/path[:tag]") String image;
    @Option(names = "--dir", description = "root filesystem directory (absolute path on the daemon's host)") Path dir;
    @Option(names = "--free-space-mib", defaultValue = "512", description = "free space in the root filesystem (default ${DEFAULT-VALUE})") long freeMib;
    @Option(names = "--machine", paramLabel = "microvm|q35", description = MACHINE_HELP) String machine;
    @Option(names = "--username", description = "registry user (the password is read from stdin)") String username;
    @Option(names = "--no-wait", description = "return once the build is queued") boolean noWait;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      requireOneSource(this, image, dir);
      checkMachine(this, machine);
      Map<String, Object> body = new java.util.LinkedHashMap<>();
      body.put("name", name);
      body.put("freeSpaceMib", freeMib);
      if (machine != null) body.put("machine", machine);
      if (image != null) body.put("image", image);
      if (dir != null) body.put("directory", dir.toAbsolutePath().toString());
      if (username != null) body.put("credentials", Map.of("username", username, "password", new String(System.in.readAllBytes()).strip()));
      Api api = Api.fromEnvironment();
      var t = api.post("/v1/templates", body);
      if (!noWait) {
        BuildProgress progress = new BuildProgress(System.err, System.console() != null);
        while (!t.path("status").asText().equals("ready") && !t.path("status").asText().equals("failed")) {
          progress.show(t);
          Thread.sleep(250);
          t = api.get("/v1/templates/" + Api.q(name));
        }
        progress.show(t);
      }
      output.print(t, COLUMNS);
      if (t.path("status").asText().equals("failed")) {
        System.err.println("kiln: template " + name + " failed: " + t.path("error").asText());
        return KilnCli.EXIT_API_ERROR;
      }
      return 0;
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
