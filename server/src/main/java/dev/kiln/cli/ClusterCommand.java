package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "cluster", description = "The cluster as a whole (one host is a cluster of one node).",
    subcommands = {ClusterCommand.Status.class}, footer = {"", "Examples:", "  kiln cluster status", "  kiln cluster status -o json"})
final class ClusterCommand {
  private ClusterCommand() {}

  @Command(name = "status", description = "Nodes up, down and cordoned, the capacity of those taking sandboxes, sandboxes, and who leads each cluster job.")
  static final class Status implements Callable<Integer> {
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      JsonNode s = Api.fromEnvironment().get("/v1/cluster");
      if (!output.format.equals("table")) {
        output.print(s, List.of());
        return 0;
      }
      JsonNode n = s.path("nodes");
      JsonNode c = s.path("capacity");
      System.out.printf("nodes      %d (%d up, %d down, %d cordoned)%n", n.path("total").asInt(), n.path("up").asInt(), n.path("down").asInt(),
          n.path("cordoned").asInt());
      System.out.printf("capacity   %d vCPUs, %d MiB RAM, %d MiB disk free (nodes taking sandboxes)%n", c.path("vcpus").asInt(),
          c.path("memoryMib").asLong(), c.path("diskFreeMib").asLong());
      System.out.printf("sandboxes  %d running%n", s.path("sandboxes").asInt());
      if (s.path("leaders").isEmpty()) System.out.println("leaders    none (no job has been led yet)");
      for (JsonNode l : s.path("leaders")) {
        System.out.printf("leader     %s: %s (%s) until %s%n", l.path("job").asText(), l.path("nodeName").asText("unknown node"), l.path("node").asText(),
            l.path("until").asText());
      }
      return 0;
    }
  }
}
