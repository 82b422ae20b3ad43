package dev.kiln.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/** How one command runs in a sandbox, shared by {@code exec} and {@code run} (like docker's). */
final class ExecOptions {
  @Option(names = {"-i", "--interactive"}, description = "pass this terminal's stdin to the command (EOF closes it)") boolean interactive;
  @Option(names = {"-t", "--tty"}, description = "run the command on a terminal (needs one here; implies -i)") boolean tty;
  @Option(names = {"-w", "--cwd"}, paramLabel = "DIR", description = "working directory in the sandbox (default: the image's, else /)") String cwd;
  @Option(names = {"-u", "--user"}, description = "user to run as: root, a user name, uid or uid:gid (default: the image's, else root)") String user;
  @Option(names = "--timeout", paramLabel = "SECONDS", description = "kill the command after this long; exit code 124 (default: no limit)") Long timeout;

  /** The process request's fields for argv with extra environment. */
  Map<String, Object> body(List<String> argv, Map<String, String> env) {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("argv", argv);
    b.put("env", env);
    if (cwd != null) b.put("cwd", cwd);
    if (user != null) b.put("user", user);
    if (timeout != null) b.put("timeoutSeconds", timeout);
    return b;
  }

  static Map<String, String> flagsOfFields() {
    return Map.of("timeoutSeconds", "--timeout", "cwd", "--cwd", "user", "--user", "argv", "COMMAND");
  }
}
