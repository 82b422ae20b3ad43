package dev.kiln.cli;

import dev.kiln.config.KilnConfig;
import dev.kiln.image.TemplateService;
import dev.kiln.image.TemplateSource;
import dev.kiln.store.Database;
import dev.kiln.store.TemplateRepository;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "template", description = "Build, list and remove templates.",
    subcommands = {TemplateCommand.Build.class, TemplateCommand.Import.class, TemplateCommand.ListTemplates.class, TemplateCommand.Remove.class})
final class TemplateCommand {
  static final List<String> COLUMNS = List.of("name", "status", "source", "sizeBytes", "updatedAt");

  @Command(name = "build", description = "Build a template through the daemon from a directory on its host.")
  static final class Build implements Callable<Integer> {
    @Parameters(index = "0", description = "template name") String name;
    @Option(names = "--dir", required = true, description = "root filesystem directory (absolute path on the daemon's host)") Path dir;
    @Option(names = "--free-space-mib", defaultValue = "512") long freeMib;
    @Option(names = {"-o", "--output"}, defaultValue = "table") Output.Format format;

    @Override
    public Integer call() throws Exception {
      var t = ApiClient.fromEnvironment().post("/v1/templates", Map.of("name", name, "directory", dir.toAbsolutePath().toString(), "freeSpaceMib", freeMib));
      Output.print(format, t, COLUMNS);
      return 0;
    }
  }

  @Command(name = "import", description = "Build a template directly into a data directory, without a running daemon (used by the installer).")
  static final class Import implements Callable<Integer> {
    @Parameters(index = "0", description = "template name") String name;
    @Option(names = "--dir", required = true) Path dir;
    @Option(names = "--free-space-mib", defaultValue = "512") long freeMib;
    @Option(names = "--data-dir", description = "default /var/lib/kiln") Path dataDir;

    @Override
    public Integer call() throws Exception {
      Path data = dataDir != null ? dataDir : KilnConfig.defaults().dataDir();
      java.nio.file.Files.createDirectories(data);
      try (Database db = Database.open(data.resolve("kiln.db"))) {
        var t = new TemplateService(data, new TemplateRepository(db)).build(name, new TemplateSource.Directory(dir.toAbsolutePath()), freeMib);
        System.out.println("template " + t.name() + " ready: " + t.rootfs().orElseThrow() + " (" + (t.rootfsBytes().getAsLong() >> 20) + " MiB)");
      }
      return 0;
    }
  }

  @Command(name = "list", description = "List templates.")
  static final class ListTemplates implements Callable<Integer> {
    @Option(names = {"-o", "--output"}, defaultValue = "table") Output.Format format;

    @Override
    public Integer call() throws Exception {
      Output.print(format, ApiClient.fromEnvironment().get("/v1/templates").path("templates"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "rm", description = "Delete a template (refused while sandboxes use it).")
  static final class Remove implements Callable<Integer> {
    @Parameters(index = "0") String name;

    @Override
    public Integer call() throws Exception {
      ApiClient.fromEnvironment().delete("/v1/templates/" + ApiClient.q(name));
      return 0;
    }
  }
}
