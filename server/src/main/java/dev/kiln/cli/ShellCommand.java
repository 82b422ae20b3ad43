package dev.kiln.cli;

import dev.kiln.sdk.CommandHandle;
import dev.kiln.sdk.CommandResult;
import dev.kiln.sdk.Sandbox;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * An interactive terminal in a sandbox, like ssh: the local terminal in raw mode, a pty process in
 * the guest (through the SDK, over a WebSocket), window size changes passed on, and the remote exit
 * code as ours. With no command it is a login: the user's login shell from the guest's passwd, in
 * the home directory, with HOME, USER, LOGNAME and SHELL set.
 */
@Command(name = "shell", description = "Open an interactive terminal in a sandbox (like ssh): the login shell of the user from the guest's "
    + "/etc/passwd (bash for root in most images), in the home directory; exits with the shell's exit code.")
final class ShellCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "SANDBOX", description = "sandbox id") String id;
  @Parameters(index = "1..*", arity = "0..*", paramLabel = "COMMAND", description = "command to run on the terminal instead of the login shell") List<String> command = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (!LocalTerminal.available()) throw new UserError("kiln shell needs a terminal (from scripts, use kiln exec)", KilnCli.EXIT_USAGE);
    Sandbox sandbox = Sandbox.of(Api.fromEnvironment().kiln(), id);
    int[] size = LocalTerminal.size();
    PrintStream out = System.out;
    Map<String, String> env = Map.of("TERM", System.getenv().getOrDefault("TERM", "xterm"));
    Consumer<byte[]> screen = data -> {
      out.write(data, 0, data.length);
      out.flush();
    };
    try (CommandHandle remote = command.isEmpty() ? sandbox.loginShell(env, size[0], size[1], screen)
        : sandbox.pty(command, env, size[0], size[1], screen)) {
      CommandResult r = RemoteCommand.onTerminal(remote);
      return r.signal() != 0 ? 128 + r.signal() : r.exitCode();
    }
  }
}
