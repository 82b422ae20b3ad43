package dev.kiln.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "run", description = "Create a sandbox, run one command in it, delete it; exits with the command's exit code.")
final class RunCommand implements Callable<Integer> {
  @Mixin SandboxCommand.CreateOptions create;
  @Mixin ExecOptions exec;

  @Override
  public Integer call() throws Exception {
    ApiClient c = ApiClient.fromEnvironment();
    String id = c.post("/v1/sandboxes", create.body()).path("id").asText();
    try {
      return exec.runIn(c, id);
    } finally {
      c.delete("/v1/sandboxes/" + ApiClient.q(id));
    }
  }
}
