package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** The options of one command run in a sandbox, shared by {@code exec} and {@code run}. */
final class ExecOptions {
  @Option(names = "--cwd") String cwd;
  @Option(names = {"-u", "--user"}, description = "root, a user name, uid or uid:gid") String user;
  @Option(names = "--timeout", description = "command timeout in seconds (default 60, 0 = none)") Long timeout;
  @Option(names = "--exec-env", description = "KEY=VALUE for this command only") Map<String, String> env = new LinkedHashMap<>();
  @Parameters(arity = "1..*", description = "the command and its arguments (put them after --)") List<String> argv;

  /** Runs the command in sandbox {@code id}, prints its output as it came, and returns the exit code to use. */
  int runIn(ApiClient c, String id) throws Exception {
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("argv", argv);
    b.put("env", env);
    if (cwd != null) b.put("cwd", cwd);
    if (user != null) b.put("user", user);
    if (timeout != null) b.put("timeoutSeconds", timeout);
    JsonNode r = c.post("/v1/sandboxes/" + ApiClient.q(id) + "/exec", b);
    System.out.print(r.path("stdout").asText());
    System.out.flush();
    System.err.print(r.path("stderr").asText());
    if (r.path("timedOut").asBoolean()) {
      System.err.println("kiln: command timed out");
      return 124;
    }
    if (r.has("signal")) return 128 + r.path("signal").asInt();
    return r.path("exitCode").asInt();
  }
}
