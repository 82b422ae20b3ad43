package dev.kiln.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code kiln}: the daemon entry point and the API client. Exit codes scripts can rely on: 0 ok,
 * 1 the API refused or failed the request, 2 bad usage, 69 the daemon is unreachable; {@code exec}
 * and {@code run} exit with the command's own code (124 when it timed out, 128+N when signal N
 * killed it).
 */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0", scope = CommandLine.ScopeType.INHERIT,
    description = "Run untrusted code in microVMs.",
    subcommands = {DaemonCommand.class, TemplateCommand.class, SandboxCommand.class, ExecCommand.class, RunCommand.class, CpCommand.class,
        FilesCommand.class, ShellCommand.class, BenchCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class KilnCli {
  static final int EXIT_API_ERROR = 1;
  static final int EXIT_UNAVAILABLE = 69;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** One command line to its exit code: {@link #main} without the exit (the AOT training runs it too). */
  static int run(String... args) {
    ClientWarmup.startFor(args);
    CommandLine cli = CommandTree.of(new KilnCli(), args);
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof ApiClient.ApiError api) {
        System.err.println("kiln: " + api.getMessage());
        return EXIT_API_ERROR;
      }
      if (e instanceof dev.kiln.sdk.KilnException k) {
        System.err.println("kiln: " + k.getMessage());
        return k.status() == 0 && k.getMessage().startsWith("cannot reach") ? EXIT_UNAVAILABLE : EXIT_API_ERROR;
      }
      if (e instanceof java.io.IOException io && io.getMessage() != null && io.getMessage().startsWith("cannot reach")) {
        System.err.println("kiln: " + io.getMessage());
        return EXIT_UNAVAILABLE;
      }
      System.err.println("kiln: " + e);
      return EXIT_API_ERROR;
    });
    return cli.execute(args);
  }
}
