package dev.kiln.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "network", description = "Show or change a sandbox's network: egress rules, bandwidth, address, proxy token.",
    subcommands = {NetworkCommand.Get.class, NetworkCommand.Set.class},
    footer = {"", "Examples:", "  kiln network get sb-abc", "  kiln network set sb-abc --allow-out example.com,10.0.0.0/8 --egress-mbit 50",
        "  kiln network set sb-abc --allow-out ''      (no allow list: everything not denied)"})
final class NetworkCommand {
  static final List<String> COLUMNS = List.of("mode", "address", "group", "allowOut", "denyOut", "egressMbit", "ingressMbit", "public");

  private NetworkCommand() {}

  private static String path(String id) {
    return SandboxCommand.path(id) + "/network";
  }

  @Command(name = "get", description = "Show a sandbox's network (JSON holds its proxy access token too).")
  static final class Get implements Callable<Integer> {
    @Mixin SandboxCommand.OneSandbox target;

    @Override
    public Integer call() throws Exception {
      target.output.print(Api.fromEnvironment().get(path(target.id)), COLUMNS);
      return 0;
    }
  }

  @Command(name = "set", description = "Change egress rules and bandwidth while the sandbox runs; options not given keep their value.")
  static final class Set implements Callable<Integer>, FlagsOfFields {
    @Mixin SandboxCommand.OneSandbox target;
    @Option(names = "--allow-out", split = ",", paramLabel = "CIDR|DOMAIN", description = "only these may be reached (comma-separated; '' clears the list)") List<String> allowOut;
    @Option(names = "--deny-out", split = ",", paramLabel = "CIDR|DOMAIN", description = "these may never be reached (comma-separated; '' clears the list)") List<String> denyOut;
    @Option(names = "--egress-mbit", paramLabel = "MBIT", description = "bandwidth out, megabits per second (0 = unlimited)") Integer egressMbit;
    @Option(names = "--ingress-mbit", paramLabel = "MBIT", description = "bandwidth in, megabits per second (0 = unlimited)") Integer ingressMbit;

    @Override
    public Integer call() throws Exception {
      Map<String, Object> body = new LinkedHashMap<>();
      if (allowOut != null) body.put("allowOut", nonEmpty(allowOut));
      if (denyOut != null) body.put("denyOut", nonEmpty(denyOut));
      if (egressMbit != null) body.put("egressMbit", egressMbit);
      if (ingressMbit != null) body.put("ingressMbit", ingressMbit);
      if (body.isEmpty()) throw new UserError("nothing to change: give --allow-out, --deny-out, --egress-mbit or --ingress-mbit", KilnCli.EXIT_USAGE);
      target.output.print(Api.fromEnvironment().put(path(target.id), body), COLUMNS);
      return 0;
    }

    /** --allow-out '' is an empty list. */
    private static List<String> nonEmpty(List<String> entries) {
      return entries.stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("allowOut", "--allow-out", "denyOut", "--deny-out", "egressMbit", "--egress-mbit", "ingressMbit", "--ingress-mbit");
    }
  }
}
