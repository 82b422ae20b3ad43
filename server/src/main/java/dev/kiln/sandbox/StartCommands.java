package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.ExitStatus;
import dev.kiln.agent.GuestFileInput;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A template's start command (docs/adr/0025): started in the VM its snapshot is taken of, so that
 * every sandbox restored from the snapshot has the service running, and in a sandbox that boots
 * instead. It is detached from the agent's session (a restored sandbox's agent starts a new one,
 * which ends the old session's commands), its output in {@value #LOG} in the guest (where the
 * template's user can write it). Readiness is a
 * command that must exit 0, or a TCP port some socket listens on, as the guest's /proc/net/tcp
 * says: no tool in the image is needed for that.
 */
final class StartCommands {
  static final String LOG = "/tmp/kiln-start.log";
  private static final Duration POLL = Duration.ofMillis(100);
  private static final Duration EXEC_LIMIT = Duration.ofSeconds(30);
  /** /proc/net/tcp of a guest with many sockets is still far below this; the guest writes it, so it is bounded. */
  private static final int MAX_PROC_NET = 4 << 20;
  /** TCP_LISTEN in /proc/net/tcp's st column. */
  private static final String LISTEN = "0A";

  private StartCommands() {}

  /** Whether the template has a start command to run. */
  static boolean has(Template t) {
    return !t.runtime().start().isEmpty();
  }

  /** Starts the template's service and waits until its readiness check passes; throws with why when it does not in time. */
  static void startAndAwait(AgentConnection agent, Template t, String label) throws AgentException, InterruptedException, IOException {
    TemplateRuntime r = t.runtime();
    UserResolver.Ids user = t.config().user().isEmpty() ? UserResolver.Ids.AGENT : UserResolver.of(agent).resolve(label, t.config().user());
    Map<String, String> env = t.config().envMap();
    String cwd = t.config().workingDir();
    // sh starts the command in the background and exits at once: the command outlives the exec
    // (and the session), re-parented to the agent, which reaps it.
    List<String> argv = new ArrayList<>(List.of("/bin/sh", "-c",
        "log=" + LOG + "; : >>\"$log\" 2>/dev/null || log=/dev/null; \"$@\" </dev/null >>\"$log\" 2>&1 &", "kiln-start"));
    argv.addAll(r.start());
    ExitStatus launched = run(agent, new ExecRequest(argv, env, cwd, user.uid(), user.gid(), Optional.of(EXEC_LIMIT), false));
    if (launched.exitCode() != 0) throw new IOException("the start command could not be launched (/bin/sh exited with " + launched.exitCode() + ")");
    awaitReady(agent, t, env, cwd, user);
  }

  private static void awaitReady(AgentConnection agent, Template t, Map<String, String> env, String cwd, UserResolver.Ids user)
      throws AgentException, InterruptedException, IOException {
    TemplateRuntime r = t.runtime();
    int port = r.portToCheck();
    if (r.readyCommand().isEmpty() && port == 0) return;
    long deadline = System.nanoTime() + r.readyTimeout().toNanos();
    while (true) {
      boolean ready = !r.readyCommand().isEmpty()
          ? run(agent, new ExecRequest(r.readyCommand(), env, cwd, user.uid(), user.gid(), Optional.of(EXEC_LIMIT), false)).exitCode() == 0
          : listening(agent, port);
      if (ready) return;
      if (System.nanoTime() > deadline) {
        throw new IOException("the start command did not become ready in " + r.readyTimeout().toSeconds() + " s ("
            + (r.readyCommand().isEmpty() ? "nothing listens on TCP port " + port : "the ready command never exited 0") + "; its output is in " + LOG
            + " in the guest)");
      }
      Thread.sleep(POLL);
    }
  }

  /** Whether a socket listens on TCP {@code port} in the guest (IPv4 or IPv6, any address). */
  static boolean listening(AgentConnection agent, int port) throws AgentException, InterruptedException, IOException {
    for (String file : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      String text;
      try (GuestFileInput in = agent.files().read(file)) {
        text = new String(in.readNBytes(MAX_PROC_NET), StandardCharsets.US_ASCII);
      } catch (AgentException e) {
        if (e.errno() == AgentException.ENOENT) continue; // no IPv6 in this kernel
        throw e;
      }
      if (listensOn(text, port)) return true;
    }
    return false;
  }

  /** /proc/net/tcp's lines: "sl local_address rem_address st …", the local address as HEX_IP:HEX_PORT. */
  static boolean listensOn(String procNetTcp, int port) {
    String want = String.format(Locale.ROOT, "%04X", port);
    for (String line : procNetTcp.lines().skip(1).toList()) {
      String[] f = line.strip().split("\\s+");
      if (f.length < 4) continue;
      int colon = f[1].lastIndexOf(':');
      if (colon > 0 && f[1].substring(colon + 1).equalsIgnoreCase(want) && f[3].equalsIgnoreCase(LISTEN)) return true;
    }
    return false;
  }

  private static ExitStatus run(AgentConnection agent, ExecRequest req) throws AgentException, InterruptedException {
    try (ExecHandle h = agent.exec(req)) {
      return h.awaitExit(EXEC_LIMIT.plusSeconds(5));
    }
  }
}
