package dev.kiln.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "forward", description = "Raw TCP from a port on the daemon's host to a port in a networked sandbox (no token: whoever reaches it, reaches the guest).",
    subcommands = {ForwardCommand.Add.class, ForwardCommand.ListForwards.class, ForwardCommand.Remove.class},
    footer = {"", "Examples:", "  kiln forward add sb-abc 5432", "  kiln forward add sb-abc 8080 --host-port 18080", "  kiln forward rm sb-abc 18080"})
final class ForwardCommand {
  static final List<String> COLUMNS = List.of("address", "hostPort", "guestPort");

  private ForwardCommand() {}

  private static String path(String id) {
    return SandboxCommand.path(id) + "/forwards";
  }

  @Command(name = "add", description = "Forward a host port (a free one unless --host-port) to GUEST_PORT; prints the forward.")
  static final class Add implements Callable<Integer>, FlagsOfFields {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", paramLabel = "GUEST_PORT", description = "port in the sandbox, 1..65535") int guestPort;
    @Option(names = "--host-port", paramLabel = "PORT", description = "port on the host (default: a free one)") Integer hostPort;
    @Mixin Output.Options output;

    @Override
    public Integer call() throws Exception {
      Map<String, Object> body = new LinkedHashMap<>();
      body.put("guestPort", guestPort);
      if (hostPort != null) body.put("hostPort", hostPort);
      output.print(Api.fromEnvironment().post(path(id), body), COLUMNS);
      return 0;
    }

    @Override
    public Map<String, String> flagsOfFields() {
      return Map.of("guestPort", "GUEST_PORT", "hostPort", "--host-port");
    }
  }

  @Command(name = "list", aliases = "ls", description = "List a sandbox's forwards.")
  static final class ListForwards implements Callable<Integer> {
    @Mixin SandboxCommand.OneSandbox target;

    @Override
    public Integer call() throws Exception {
      target.output.print(Api.fromEnvironment().get(path(target.id)).path("forwards"), COLUMNS);
      return 0;
    }
  }

  @Command(name = "rm", aliases = "delete", description = "Close a forward and its connections.")
  static final class Remove implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
    @Parameters(index = "1", paramLabel = "HOST_PORT", description = "the forward's host port") int hostPort;

    @Override
    public Integer call() throws Exception {
      Api.fromEnvironment().delete(path(id) + "/" + hostPort);
      return 0;
    }
  }
}
