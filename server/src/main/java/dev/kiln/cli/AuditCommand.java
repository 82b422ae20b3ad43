package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "audit", description = "The audit trail (needs an admin key): who did what, in hash chains that show a removed or altered record.",
    subcommands = {AuditCommand.ListRecords.class, AuditCommand.Verify.class},
    footer = {"", "Examples:", "  kiln audit list --since 2026-12-05T12:00:00Z", "  kiln audit verify"})
final class AuditCommand {
  static final List<String> COLUMNS = List.of("at", "actor", "action", "sandbox", "status", "detail");

  private AuditCommand() {}

  @Command(name = "list", aliases = "ls", description = "List records, oldest first: every change made through the API, refused keys, denied lookups.")
  static final class ListRecords implements Callable<Integer> {
    @Option(names = "--sandbox", paramLabel = "ID", description = "only records about this sandbox") String sandbox;
    @Option(names = "--since", paramLabel = "TIME", description = "only records at or after this ISO-8601 time, e.g. 2026-12-05T12:00:00Z") String since;
    @Option(names = "--limit", paramLabel = "N", defaultValue = "1000", description = "at most this many (1..10000, default 1000)") int limit;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      StringBuilder path = new StringBuilder("/v1/audit?limit=").append(limit);
      if (sandbox != null) path.append("&sandbox=").append(Api.q(sandbox));
      if (since != null) path.append("&since=").append(Api.q(since));
      output.print(Api.fromEnvironment().get(path.toString()).path("records"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "verify", description = "Check every chain from its first record; exits 1 and says where if a record was removed or altered.")
  static final class Verify implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
      JsonNode r = Api.fromEnvironment().post("/v1/audit/verify", java.util.Map.of());
      List<String> broken = new ArrayList<>();
      for (JsonNode c : r.path("chains")) {
        String line = "chain " + c.path("chain").asText() + ": " + c.path("records").asLong() + " records";
        if (c.path("intact").asBoolean()) {
          System.out.println(line + ", intact");
        } else {
          System.out.println(line + " verified, then: " + c.path("problem").asText());
          broken.add(c.path("chain").asText());
        }
      }
      if (broken.isEmpty()) return 0;
      System.err.println("the audit trail was tampered with in chain(s) " + String.join(", ", broken));
      return KilnCli.EXIT_API_ERROR;
    }
  }
}
