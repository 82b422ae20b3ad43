package dev.kiln.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "exec", description = "Run a command in a sandbox; exits with the command's exit code.")
final class ExecCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "sandbox id") String id;
  @Mixin ExecOptions exec;

  @Override
  public Integer call() throws Exception {
    return exec.runIn(ApiClient.fromEnvironment(), id);
  }
}
