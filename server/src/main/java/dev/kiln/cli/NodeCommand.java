package dev.kiln.cli;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "node", description = "The hosts that run sandboxes (one host's daemon is its only node): capacity, liveness, cordon, drain.",
    subcommands = {NodeCommand.ListNodes.class, NodeCommand.Get.class, NodeCommand.Cordon.class, NodeCommand.Uncordon.class, NodeCommand.Drain.class},
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

  @Command(name = "drain", description = "Empty a node of a cluster: cordon it, migrate its running sandboxes live (a few at a time) and hand its "
      + "paused ones to other nodes; with --wait, show the progress until it is done. Through a control instance.")
  static final class Drain implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "NODE", description = "node id (nd-…)") String id;
    @Option(names = "--parallel", paramLabel = "N", description = "sandboxes moved at once, 1..16 (default 2)") Integer parallel;
    @Option(names = "--wait", description = "wait until the drain is over, with a progress bar") boolean wait;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      Api api = Api.fromEnvironment();
      Map<String, Object> body = new java.util.LinkedHashMap<>();
      if (parallel != null) body.put("parallel", parallel);
      com.fasterxml.jackson.databind.JsonNode drain = api.post("/v1/nodes/" + Api.q(id) + "/drain", body);
      if (wait) {
        DrainProgress progress = new DrainProgress(System.err, System.console() != null);
        while (drain.path("state").asText().equals("draining")) {
          progress.show(drain);
          Thread.sleep(500);
          drain = api.get("/v1/nodes/" + Api.q(id)).path("drain");
        }
        progress.show(drain);
      }
      output.print(drain, DrainProgress.COLUMNS);
      if (!drain.path("state").asText().equals("draining") && !drain.path("state").asText().equals("drained")) {
        System.err.println("kiln: node " + id + " was not emptied: " + String.join("; ", texts(drain.path("errors")))
            + (drain.path("left").isEmpty() ? "" : " (left: " + String.join(", ", texts(drain.path("left"))) + ")"));
        return KilnCli.EXIT_API_ERROR;
      }
      return 0;
    }
  }

  private static List<String> texts(com.fasterxml.jackson.databind.JsonNode array) {
    List<String> out = new java.util.ArrayList<>();
    array.forEach(e -> out.add(e.asText()));
    return out;
  }

  @Command(name = "uncordon", description = "Place sandboxes on the node again.")
  static final class Uncordon extends CordonChange {
    @Override
    String action() {
      return "uncordon";
    }
  }
}
