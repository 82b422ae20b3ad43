package dev.kiln.cli;

import dev.kiln.sdk.Sandbox;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "run", description = "Create a sandbox, run one command in it, delete it; exits with the command's exit code.",
    footer = {"", "Examples:", "  kiln run --template base -- uname -a", "  echo 'print(6*7)' | kiln run -i -- python3", "  kiln run -it -- bash"})
final class RunCommand implements Callable<Integer>, FlagsOfFields {
  @Option(names = "--template", defaultValue = "base", description = "template to start from (default: ${DEFAULT-VALUE})") String template;
  @Mixin SandboxCommand.CreateFlags create;
  @Mixin ExecOptions exec;
  @Parameters(arity = "1..*", paramLabel = "COMMAND", description = "the command and its arguments (after --, so its options stay its own)")
  List<String> argv;
  /** Which request an API error came from: the create's fields and the command's share names. */
  private boolean created;

  @Override
  public Integer call() throws Exception {
    Api api = Api.fromEnvironment();
    Sandbox sandbox = Sandbox.create(api.kiln(), create.options(template));
    created = true;
    // A Ctrl-C that ends this JVM still deletes the sandbox.
    Thread cleanup = new Thread(() -> deleteQuietly(sandbox));
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      return new RemoteCommand(api, sandbox, exec).run(argv, Map.of());
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
        deleteQuietly(sandbox);
      } catch (IllegalStateException shuttingDown) {
        // the JVM is exiting: the hook deletes it
      }
    }
  }

  private static void deleteQuietly(Sandbox sandbox) {
    try {
      sandbox.close();
    } catch (Exception e) {
      System.err.println("kiln: could not delete sandbox " + sandbox.id() + ": " + ErrorReport.of(e, Map.of()).message());
    }
  }

  @Override
  public Map<String, String> flagsOfFields() {
    return created ? ExecOptions.flagsOfFields() : SandboxCommand.CreateFlags.FLAGS;
  }
}
