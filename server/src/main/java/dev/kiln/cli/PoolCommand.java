package dev.kiln.cli;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "pool", description = "Warm pools: VMs of a template restored and paused ahead, so creates at the default size claim one.",
    subcommands = {PoolCommand.Set.class, PoolCommand.ListPools.class, PoolCommand.Remove.class},
    footer = {"", "Example:", "  kiln pool set base --min 1 --max 2"})
final class PoolCommand {
  static final List<String> COLUMNS = List.of("template", "minReady", "maxReady", "ready", "filling", "claims", "misses", "lastError");

  private PoolCommand() {}

  @Command(name = "set", description = "Keep MIN..MAX ready VMs of a template; it refills when claims take it below MIN.")
  static final class Set implements Callable<Integer>, FlagsOfFields {
    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "template name") String template;
    @Option(names = "--min", required = true, paramLabel = "N", description = "refill when fewer than this many are ready") int min;
    @Option(names = "--max", required = true, paramLabel = "N", description = "fill up to this many (at most 16)") int max;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().put("/v1/pools/" + Api.q(template), Map.of("minReady", min, "maxReady", max)), COLUMNS);
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("minReady", "--min", "maxReady", "--max");
    }
  }

  @Command(name = "list", aliases = "ls", description = "List warm pools: targets, ready VMs, claims and misses.")
  static final class ListPools implements Callable<Integer> {
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get("/v1/pools").path("pools"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "rm", aliases = "delete", description = "Remove a template's pool and stop its VMs.")
  static final class Remove implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "template name") String template;

    @Override
    public Integer call() throws Exception {
      Api.fromEnvironment().delete("/v1/pools/" + Api.q(template));
      return 0;
    }
  }
}
