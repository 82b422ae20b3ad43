package dev.kiln.cli;

import dev.kiln.sdk.Sandbox;
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
        "  kiln exec -it sb-abc -- bash", "  kiln exec -d sb-abc -- python3 -m http.server 8080"})
final class ExecCommand implements Callable<Integer>, FlagsOfFields {
  @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
  @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND", description = "the command and its arguments (after --, so its options stay its own)")
  List<String> argv;
  @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE", description = "environment for this command (repeatable)") Map<String, String> env = new LinkedHashMap<>();
  @Option(names = {"-d", "--detach"}, description = "start it in the background and print its pid (follow it with the API's process routes)") boolean detach;
  @Mixin ExecOptions exec;

  @Override
  public Integer call() throws Exception {
    Api api = Api.fromEnvironment();
    if (!detach) return new RemoteCommand(api, Sandbox.of(api.kiln(), id), exec).run(argv, env);
    if (exec.interactive || exec.tty) throw new UserError("-d runs the command in the background: it cannot take -i or -t", KilnCli.EXIT_USAGE);
    System.out.println(api.post(RemoteCommand.processes(id), exec.body(argv, env)).path("pid").asLong());
    return 0;
  }

  @Override
  public Map<String, String> flagsOfFields() {
    return ExecOptions.flagsOfFields();
  }
}
