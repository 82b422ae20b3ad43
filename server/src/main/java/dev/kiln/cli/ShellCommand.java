package dev.kiln.cli;

import dev.kiln.sdk.CommandHandle;
import dev.kiln.sdk.CommandResult;
import dev.kiln.sdk.Kiln;
import dev.kiln.sdk.Sandbox;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
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
  private static final Path TTY = Path.of("/dev/tty");

  @Parameters(index = "0", description = "sandbox id") String id;
  @Parameters(index = "1..*", arity = "0..*", description = "command to run on the terminal instead of the login shell") List<String> command = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (!Files.isReadable(TTY) || System.console() == null) {
      System.err.println("kiln shell: needs a terminal (use `kiln exec` from scripts)");
      return 2;
    }
    Sandbox sandbox = Sandbox.connect(Kiln.fromEnvironment(), id);
    int[] size = terminalSize();
    PrintStream out = System.out;
    String saved = stty("-g").strip();
    stty("raw", "-echo");
    Map<String, String> env = Map.of("TERM", System.getenv().getOrDefault("TERM", "xterm"));
    java.util.function.Consumer<byte[]> screen = data -> {
      out.write(data, 0, data.length);
      out.flush();
    };
    try (CommandHandle remote = command.isEmpty() ? sandbox.loginShell(env, size[0], size[1], screen)
        : sandbox.pty(command, env, size[0], size[1], screen)) {
      onWindowChange(() -> {
        int[] s = terminalSize();
        remote.resize(s[0], s[1]);
      });
      Thread keys = Thread.ofVirtual().start(() -> forwardKeys(System.in, remote));
      CommandResult r = remote.await(Duration.ofDays(365));
      keys.interrupt();
      return r.signal() != 0 ? 128 + r.signal() : r.exitCode();
    } finally {
      stty(saved);
    }
  }

  /** Local keystrokes to the remote terminal as they come (raw mode: no line buffering, no echo). */
  private static void forwardKeys(InputStream in, CommandHandle remote) {
    byte[] buf = new byte[4096];
    try {
      for (int n; (n = in.read(buf)) > 0; ) remote.sendStdin(java.util.Arrays.copyOf(buf, n));
    } catch (IOException | RuntimeException e) {
      // the session ended
    }
  }

  /** Runs stty on the controlling terminal; returns what it printed. */
  private static String stty(String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("stty"));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectInput(TTY.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IOException("stty " + String.join(" ", args) + " failed");
    return out;
  }

  private static int[] terminalSize() {
    try {
      String[] rc = stty("size").strip().split("\\s+");
      return new int[] {Math.max(1, Integer.parseInt(rc[0])), Math.max(1, Integer.parseInt(rc[1]))};
    } catch (IOException | InterruptedException | RuntimeException e) {
      return new int[] {24, 80};
    }
  }

  /** SIGWINCH: the JDK has no public API for it; sun.misc.Signal (jdk.unsupported) is the one way. */
  @SuppressWarnings("removal")
  private static void onWindowChange(Runnable r) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), sig -> r.run());
    } catch (IllegalArgumentException e) {
      // no SIGWINCH on this platform: the size stays as it was at the start
    }
  }
}
