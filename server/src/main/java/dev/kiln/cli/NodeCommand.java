package dev.kiln.cli;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "node", description = "The hosts that run sandboxes (one host's daemon is its only node): capacity, liveness, cordon.",
    subcommands = {NodeCommand.ListNodes.class, NodeCommand.Get.class, NodeCommand.Cordon.class, NodeCommand.Uncordon.class},
    footer = {"", "Examples:", "  kiln node list", "  kiln node list -o json"})
final class NodeCommand {
  static final List<String> COLUMNS = List.of("id", "name", "role", "state", "cordoned", "sandboxes", "heartbeatAt", "url");

  private NodeCommand() {}

  @Command(name = "list", aliases = "ls", description = "List nodes: state (up, or down once silent), cordon, running sandboxes, last heartbeat.")
  static final class ListNodes implements Callable<Integer> {
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get("/v1/nodes").path("nodes"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "get", aliases = "inspect", description = "Show one node, with its capacity and the templates it has.")
  static final class Get implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NODE", description = "node id (nd-…)") String id;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get("/v1/nodes/" + Api.q(id)), COLUMNS);
      return 0;
    }
  }

  /** cordon and uncordon: one POST on the node, which answers with the node. */
  private abstract static class CordonChange implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NODE", description = "node id (nd-…)") String id;
    @Mixin Output.Options output;

    abstract String action();

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().post("/v1/nodes/" + Api.q(id) + "/" + action(), Map.of()), COLUMNS);
      return 0;
    }
  }

  @Command(name = "cordon", description = "Place no new sandbox on the node; what runs there keeps running.")
  static final class Cordon extends CordonChange {
    @Override
    String action() {
      return "cordon";
    }
  }

  @Command(name = "uncordon", description = "Place sandboxes on the node again.")
  static final class Uncordon extends CordonChange {
    @Override
    String action() {
      return "uncordon";
    }
  }
}
