package dev.kiln.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "key", description = "API keys (needs an admin key): make one for a user or an admin, list them, revoke one.",
    subcommands = {KeyCommand.Create.class, KeyCommand.ListKeys.class, KeyCommand.Revoke.class},
    footer = {"", "Examples:", "  kiln key create alice --max-sandboxes 5 --max-vcpus 8", "  kiln key list",
        "  kiln key revoke " + KeyCommand.EXAMPLE_ID})
final class KeyCommand {
  static final List<String> COLUMNS = List.of("id", "name", "role", "prefix", "limits.maxSandboxes", "limits.maxVcpus", "limits.maxMemoryMib",
      "limits.maxTemplates", "createdAt", "revokedAt");

  /** The key id the help's example revokes (ReadmeWalkthroughSystemTest revokes a key it made in its place). */
  static final String EXAMPLE_ID = "5f0c1e9a-3b7d-4c2e-9a61-0d8e4b7f2c13";

  private KeyCommand() {}

  @Command(name = "create", description = "Make a key and print it: it is shown this once (the daemon keeps only its hash).")
  static final class Create implements Callable<Integer>, FlagsOfFields {
    @Parameters(index = "0", paramLabel = "NAME", description = "whose key it is (1-64 letters, digits, spaces and . _ @ -)") String name;
    @Option(names = "--role", paramLabel = "user|admin", defaultValue = "user",
        description = "user (default): sees only its own sandboxes and templates, within its limits; admin: everything") String role;
    @Option(names = "--max-sandboxes", paramLabel = "N", description = "sandboxes it may hold at once (paused and stopped count)") Long maxSandboxes;
    @Option(names = "--max-vcpus", paramLabel = "N", description = "vCPUs of all its sandboxes together") Long maxVcpus;
    @Option(names = "--max-memory-mib", paramLabel = "MIB", description = "memory of all its sandboxes together") Long maxMemoryMib;
    @Option(names = "--max-templates", paramLabel = "N", description = "templates it may build") Long maxTemplates;
    @Option(names = {"-o", "--output"}, paramLabel = "key|table|json|field=NAME", defaultValue = "key",
        description = "print only the key (default, for scripts), a table, JSON, or one field (field=id)") String output;

    @Override
    public Integer call() throws Exception {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("name", name);
      body.put("role", role);
      if (maxSandboxes != null) body.put("maxSandboxes", maxSandboxes);
      if (maxVcpus != null) body.put("maxVcpus", maxVcpus);
      if (maxMemoryMib != null) body.put("maxMemoryMib", maxMemoryMib);
      if (maxTemplates != null) body.put("maxTemplates", maxTemplates);
      var made = Api.fromEnvironment().post("/v1/keys", body);
      if (output.equals("key")) {
        System.out.println(made.path("key").asText());
        System.err.println("key " + made.path("id").asText() + " (" + made.path("role").asText() + ") made; it is not shown again");
      } else if (output.startsWith("field=")) {
        Output.printField(made, output.substring("field=".length()));
      } else {
        List<String> columns = new java.util.ArrayList<>(List.of("key"));
        columns.addAll(COLUMNS);
        Output.print(Output.Options.parse(output, "key|table|json|field=NAME"), made, columns);
      }
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("maxSandboxes", "--max-sandboxes", "maxVcpus", "--max-vcpus", "maxMemoryMib", "--max-memory-mib", "maxTemplates", "--max-templates",
          "role", "--role", "name", "NAME");
    }
  }

  @Command(name = "list", aliases = "ls", description = "List keys: ids, names, roles, limits, and when revoked. Keys themselves are never shown again.")
  static final class ListKeys implements Callable<Integer> {
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      output.print(Api.fromEnvironment().get("/v1/keys").path("keys"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "revoke", description = "Revoke a key: refused from its next request on. What it made stays (an admin sees it).")
  static final class Revoke implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "ID", description = "the key's id (kiln key list)") String id;

    @Override
    public Integer call() throws Exception {
      Api.fromEnvironment().delete("/v1/keys/" + Api.q(id));
      return 0;
    }
  }
}
