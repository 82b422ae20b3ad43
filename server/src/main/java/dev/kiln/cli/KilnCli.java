package dev.kiln.cli;

import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code kiln}: the daemon entry point and the API client. Exit codes scripts can rely on: 0 ok,
 * 1 the API refused or failed the request, 2 bad usage, 69 the daemon is unreachable; {@code exec}
 * and {@code run} exit with the command's own code (124 when it timed out, 126 when it cannot be
 * executed, 127 when there is no such command, 128+N when signal N killed it).
 */
@Command(name = "kiln", mixinStandardHelpOptions = true, version = "kiln 0.1.0", scope = CommandLine.ScopeType.INHERIT,
    description = "Run untrusted code in microVMs.",
    footer = {"", "Environment: KILN_URL (default " + dev.kiln.sdk.Kiln.DEFAULT_URL + "), KILN_API_KEY, KILN_DEBUG=1 (details of internal errors).",
        "Exit codes: 0 ok, 1 the API refused the request, 2 bad usage, 69 no daemon; exec and run exit with the command's code."},
    subcommands = {DaemonCommand.class, TemplateCommand.class, SandboxCommand.class, ExecCommand.class, RunCommand.class, ShellCommand.class,
        CpCommand.class, FilesCommand.class, CheckpointCommand.class, PoolCommand.class, NetworkCommand.class, ForwardCommand.class, NodeCommand.class, ClusterCommand.class, KeyCommand.class, AuditCommand.class,
        BenchCommand.class, DoctorCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class KilnCli implements java.util.concurrent.Callable<Integer> {
  static final int EXIT_API_ERROR = 1;
  static final int EXIT_USAGE = 2;
  static final int EXIT_UNAVAILABLE = 69;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** {@code kiln} alone: the usage, as a usage error. */
  @Override
  public Integer call() {
    spec.commandLine().usage(System.err);
    return EXIT_USAGE;
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** One command line to its exit code: {@link #main} without the exit (the AOT training runs it too). */
  static int run(String... args) {
    ClientWarmup.startFor(args);
    return withErrorReport(CommandTree.of(new KilnCli(), args)).execute(args);
  }

  /** The whole command tree with kiln's error reporting, for tests and tools that walk it. */
  public static CommandLine commandLine() {
    return withErrorReport(new CommandLine(new KilnCli()));
  }

  private static CommandLine withErrorReport(CommandLine cli) {
    cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
      Map<String, String> flags = cmd.getCommand() instanceof FlagsOfFields f ? f.flagsOfFields() : Map.of();
      ErrorReport.Report r = ErrorReport.of(e, flags);
      cmd.getErr().println("kiln: " + r.message());
      if (System.getenv("KILN_DEBUG") != null) e.printStackTrace(cmd.getErr());
      return r.exitCode();
    });
    return cli;
  }
}
