package dev.kiln.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "exec", description = "Run a command in a sandbox, its output streamed as it comes; exits with the command's exit code.",
    footer = {"", "Examples:", "  kiln exec sb-abc -- python3 -c 'print(6*7)'", "  echo hi | kiln exec -i sb-abc -- cat",
        "  kiln exec -it sb-abc -- bash"})
final class ExecCommand implements Callable<Integer>, FlagsOfFields {
  @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
  @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND", description = "the command and its arguments (after --, so its options stay its own)")
  List<String> argv;
  @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE", description = "environment for this command (repeatable)") Map<String, String> env = new LinkedHashMap<>();
  @Mixin ExecOptions exec;

  @Override
  public Integer call() throws Exception {
    return new RemoteCommand(ApiClient.fromEnvironment(), id, exec).run(argv, env);
  }

  @Override
  public Map<String, String> flagsOfFields() {
    return ExecOptions.flagsOfFields();
  }
}
