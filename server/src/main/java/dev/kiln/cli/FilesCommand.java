package dev.kiln.cli;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "files", description = "Copy files into and out of a sandbox, list and remove them.",
    subcommands = {FilesCommand.Put.class, FilesCommand.Get.class, FilesCommand.Ls.class, FilesCommand.Rm.class})
final class FilesCommand {
  static String filesPath(String id, String suffix, String guestPath) {
    return "/v1/sandboxes/" + Api.q(id) + "/files" + suffix + "?path=" + Api.q(guestPath);
  }

  @Command(name = "put", description = "Upload a local file to a path in the sandbox.")
  static final class Put implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", paramLabel = "LOCAL", description = "local file to upload") Path local;
    @Parameters(index = "2", paramLabel = "PATH", description = "absolute path in the sandbox") String guestPath;

    @Override
    public Integer call() throws Exception {
      if (!Files.isRegularFile(local)) throw new UserError("no such local file: " + local, KilnCli.EXIT_API_ERROR);
      System.out.println(Api.fromEnvironment().upload(filesPath(id, "", guestPath), local).path("bytesWritten").asLong() + " bytes written");
      return 0;
    }
  }

  @Command(name = "get", description = "Download a file from the sandbox (to stdout without LOCAL).")
  static final class Get implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", paramLabel = "PATH", description = "absolute path in the sandbox") String guestPath;
    @Parameters(index = "2", arity = "0..1", paramLabel = "LOCAL", description = "local file to write (default: stdout)") Path local;

    @Override
    public Integer call() throws Exception {
      Api api = Api.fromEnvironment();
      try (InputStream in = api.download(filesPath(id, "", guestPath));
           OutputStream out = local == null ? System.out : Files.newOutputStream(local)) {
        in.transferTo(out);
      }
      return 0;
    }
  }

  @Command(name = "ls", description = "List a directory in the sandbox.")
  static final class Ls implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", defaultValue = "/", paramLabel = "PATH", description = "directory in the sandbox (default: /)") String guestPath;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get(filesPath(id, "/list", guestPath)).path("entries"),
          List.of("type", "mode", "size", "mtime", "name"));
      return 0;
    }
  }

  @Command(name = "rm", description = "Remove a file or directory (recursively) in the sandbox.")
  static final class Rm implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", paramLabel = "PATH", description = "absolute path in the sandbox") String guestPath;

    @Override
    public Integer call() throws Exception {
      Api.fromEnvironment().delete(filesPath(id, "", guestPath));
      return 0;
    }
  }
}
