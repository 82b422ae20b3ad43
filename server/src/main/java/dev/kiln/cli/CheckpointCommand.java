package dev.kiln.cli;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "checkpoint", description = "Save a running sandbox at one instant (RAM and disk), list, restore and delete its checkpoints.",
    subcommands = {CheckpointCommand.Create.class, CheckpointCommand.ListCheckpoints.class, CheckpointCommand.Restore.class, CheckpointCommand.Remove.class},
    footer = {"", "Examples:", "  kiln checkpoint create sb-abc before-upgrade", "  kiln checkpoint restore sb-abc before-upgrade",
        "  kiln sandbox fork sb-abc --checkpoint before-upgrade --count 2"})
final class CheckpointCommand {
  static final List<String> COLUMNS = List.of("name", "sandboxId", "createdAt", "stateBytes");

  private CheckpointCommand() {}

  private static String path(String id) {
    return SandboxCommand.path(id) + "/checkpoints";
  }

  /** A sandbox and one of its checkpoints. */
  static final class Target {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", paramLabel = "NAME", description = "checkpoint name: letters, digits, '.', '_' and '-', up to 64") String name;
  }

  @Command(name = "create", description = "Checkpoint a running sandbox; it runs on afterwards (the VM stops while its RAM is saved).")
  static final class Create implements Callable<Integer>, FlagsOfFields {
    @Mixin Target target;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().post(path(target.id), Map.of("name", target.name)), COLUMNS);
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("name", "NAME");
    }
  }

  @Command(name = "list", aliases = "ls", description = "List a sandbox's checkpoints, oldest first.")
  static final class ListCheckpoints implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get(path(id)).path("checkpoints"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "restore", description = "Put the sandbox back to the checkpoint, in place: everything since is gone.")
  static final class Restore implements Callable<Integer> {
    @Mixin Target target;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().post(path(target.id) + "/" + Api.q(target.name) + "/restore", Map.of()), SandboxCommand.COLUMNS);
      return 0;
    }
  }

  @Command(name = "rm", aliases = "delete", description = "Delete a checkpoint (forks made from it keep running).")
  static final class Remove implements Callable<Integer> {
    @Mixin Target target;

    @Override
    public Integer call() throws Exception {
      Api.fromEnvironment().delete(path(target.id) + "/" + Api.q(target.name));
      return 0;
    }
  }
}
