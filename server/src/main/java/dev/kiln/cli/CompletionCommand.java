package dev.kiln.cli;

import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** Prints a bash (and zsh, via bashcompinit) completion script for every kiln command and option. */
@Command(name = "completion", description = "Print a shell completion script: source <(kiln completion)")
final class CompletionCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    System.out.print(AutoComplete.bash("kiln", spec.root().commandLine()));
    return 0;
  }
}
