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
 */
public record ExecRequest(List<String> argv, Map<String, String> env, String cwd, OptionalInt uid, OptionalInt gid,
    Optional<Duration> timeout, boolean stdin, Optional<TerminalSize> pty) {
  public ExecRequest(List<String> argv, Map<String, String> env, String cwd, OptionalInt uid, OptionalInt gid, Optional<Duration> timeout,
      boolean stdin) {
    this(argv, env, cwd, uid, gid, timeout, stdin, Optional.empty());
  }

  public ExecRequest {
    if (argv.isEmpty()) throw new IllegalArgumentException("argv must not be empty");
    argv = List.copyOf(argv);
    env = Map.copyOf(env);
    for (String key : env.keySet()) {
      if (key.isEmpty() || key.contains("=") || key.indexOf('\0') >= 0) throw new IllegalArgumentException("invalid environment variable name: '" + key + "'");
    }
    if (cwd == null) cwd = "";
    timeout = timeout.filter(d -> !d.isZero());
  }

  public static ExecRequest of(String... argv) {
    return new ExecRequest(List.of(argv), Map.of(), "", OptionalInt.empty(), OptionalInt.empty(), Optional.empty(), false);
  }

  public static ExecRequest shell(String command) {
    return of("/bin/sh", "-c", command);
  }
}
