package dev.kiln.agent;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A process to start in the guest. {@code timeout} is the <em>command timeout</em>, enforced by the
 * guest agent (it kills the process group); it is unrelated to the sandbox's TTL. With {@code pty}
 * the process gets a terminal of that size as stdin, stdout and stderr (its output is all stdout).
 * With {@code login} it runs as a login would, like ssh: the guest agent reads the user's entry in
 * the guest's /etc/passwd and sets HOME, USER, LOGNAME and SHELL (under {@code env}), starts in the
 * home directory unless {@code cwd} names one, and with an empty {@code argv} runs the user's login
 * shell (as {@code -bash}, say; /bin/sh when the entry names none it can run).
 */
public record ExecRequest(List<String> argv, Map<String, String> env, String cwd, OptionalInt uid, OptionalInt gid,
    Optional<Duration> timeout, boolean stdin, Optional<TerminalSize> pty, boolean login) {
  public ExecRequest(List<String> argv, Map<String, String> env, String cwd, OptionalInt uid, OptionalInt gid, Optional<Duration> timeout,
      boolean stdin) {
    this(argv, env, cwd, uid, gid, timeout, stdin, Optional.empty(), false);
  }

  public ExecRequest(List<String> argv, Map<String, String> env, String cwd, OptionalInt uid, OptionalInt gid, Optional<Duration> timeout,
      boolean stdin, Optional<TerminalSize> pty) {
    this(argv, env, cwd, uid, gid, timeout, stdin, pty, false);
  }

  public ExecRequest {
    if (argv.isEmpty() && !login) throw new IllegalArgumentException("argv must not be empty (only a login may leave it empty: the login shell)");
    argv = List.copyOf(argv);
    env = Map.copyOf(env);
    for (String key : env.keySet()) {
      if (key.isEmpty() || key.contains("=") || key.indexOf('\0') >= 0) throw new IllegalArgumentException("invalid environment variable name: '" + key + "'");
    }
    if (cwd == null) cwd = "";
    timeout = timeout.filter(d -> !d.isZero());
  }

  /** The same request with {@code env} in place of its environment. */
  public ExecRequest withEnv(Map<String, String> newEnv) {
    return new ExecRequest(argv, newEnv, cwd, uid, gid, timeout, stdin, pty, login);
  }

  /** What runs, for messages and logs: argv[0], or "the login shell". */
  public String program() {
    return argv.isEmpty() ? "the login shell" : argv.getFirst();
  }

  public static ExecRequest of(String... argv) {
    return new ExecRequest(List.of(argv), Map.of(), "", OptionalInt.empty(), OptionalInt.empty(), Optional.empty(), false);
  }

  public static ExecRequest shell(String command) {
    return of("/bin/sh", "-c", command);
  }
}
