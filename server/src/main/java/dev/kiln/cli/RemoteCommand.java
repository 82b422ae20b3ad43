package dev.kiln.cli;

import dev.kiln.sdk.CommandHandle;
import dev.kiln.sdk.CommandResult;
import dev.kiln.sdk.Sandbox;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One command in a sandbox the way {@code docker exec} runs it: started as a background process,
 * its output written here as it comes (stdout to stdout, stderr to stderr), stdin passed on with
 * -i, a remote terminal with -t, Ctrl-C and SIGTERM passed to it, and its exit status as ours.
 */
final class RemoteCommand {
  /** How long the command runs on if this client vanishes without a word (kill -9, lost network). */
  private static final int KEEP_ALIVE_SECONDS = 60;
  /** No limit on the wait itself: the command's own --timeout is what ends a slow command. */
  private static final Duration FOREVER = Duration.ofDays(3650);

  private final Api api;
  private final Sandbox sandbox;
  private final ExecOptions options;

  RemoteCommand(Api api, Sandbox sandbox, ExecOptions options) {
    this.api = api;
    this.sandbox = sandbox;
    this.options = options;
  }

  /** Runs argv with extra environment to its end; returns the exit code this CLI should exit with. */
  int run(List<String> argv, Map<String, String> env) throws Exception {
    if (options.tty && !LocalTerminal.available()) {
      throw new UserError("-t needs a terminal: stdin is not one (drop -t, and use -i to pass piped input)", KilnCli.EXIT_USAGE);
    }
    boolean stdin = options.interactive || options.tty;
    Map<String, Object> body = options.body(argv, env);
    body.put("stdin", stdin);
    body.put("keepAliveSeconds", KEEP_ALIVE_SECONDS);
    int[] size = options.tty ? LocalTerminal.size() : null;
    if (options.tty) {
      Map<String, String> withTerm = new LinkedHashMap<>(env);
      withTerm.putIfAbsent("TERM", System.getenv().getOrDefault("TERM", "xterm"));
      body.put("env", withTerm);
      body.put("pty", Map.of("rows", size[0], "cols", size[1]));
    }
    long pid = api.post(processes(sandbox.id()), body).path("pid").asLong();
    PrintStream out = System.out;
    PrintStream err = System.err;
    try (CommandHandle remote = sandbox.commands().stream(pid, b -> write(out, b), b -> write(err, b))) {
      CommandResult r = options.tty ? onTerminal(remote) : withSignalsPassedOn(remote, stdin);
      out.flush();
      if (r.timedOut()) {
        err.println("kiln: command timed out after " + options.timeout + " s");
        return 124;
      }
      return r.signal() != 0 ? 128 + r.signal() : r.exitCode();
    }
  }

  /** The route that starts a process: the SDK's own start has no working directory, user, timeout or keep-alive yet. */
  static String processes(String sandboxId) {
    return SandboxCommand.path(sandboxId) + "/processes";
  }

  /** The local terminal attached to a remote one until the remote command ends: raw keys out, its screen in, size changes passed on. */
  static CommandResult onTerminal(CommandHandle remote) throws Exception {
    try (LocalTerminal raw = LocalTerminal.raw()) {
      LocalTerminal.onResize(() -> {
        int[] s = LocalTerminal.size();
        remote.resize(s[0], s[1]);
      });
      Thread keys = Thread.ofVirtual().start(() -> pump(System.in, remote, false));
      try {
        return remote.await(FOREVER);
      } finally {
        keys.interrupt();
      }
    }
  }

  /**
   * Without a terminal, Ctrl-C, SIGTERM and SIGHUP here are sent to the command, as docker's
   * sig-proxy does; a command that ignores them is left behind by the third Ctrl-C (its
   * keep-alive then ends it).
   */
  @SuppressWarnings("removal")
  private static CommandResult withSignalsPassedOn(CommandHandle remote, boolean stdin) throws Exception {
    java.util.concurrent.atomic.AtomicInteger interrupts = new java.util.concurrent.atomic.AtomicInteger();
    for (String name : List.of("INT", "TERM", "HUP")) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
          if (name.equals("INT") && interrupts.incrementAndGet() >= 3) {
            System.err.println("kiln: left the command running in the sandbox");
            System.exit(130);
          }
          Thread.ofVirtual().start(() -> remote.signal(name));
        });
      } catch (IllegalArgumentException e) {
        // the JVM reserves this one here: it keeps its default meaning
      }
    }
    if (stdin) Thread.ofVirtual().start(() -> pump(System.in, remote, true));
    return remote.await(FOREVER);
  }

  /** Local input to the command as it comes; at end of input the command reads EOF (not on a terminal: there ^D is a key). */
  private static void pump(InputStream in, CommandHandle remote, boolean closeAtEnd) {
    byte[] buf = new byte[64 * 1024];
    try {
      for (int n; (n = in.read(buf)) > 0; ) remote.sendStdin(Arrays.copyOf(buf, n));
      if (closeAtEnd) remote.closeStdin();
    } catch (IOException | RuntimeException e) {
      // the command ended (or the connection did) while we were reading: nothing more to send
    }
  }

  private static void write(PrintStream to, byte[] data) {
    to.write(data, 0, data.length);
    to.flush();
  }
}
