package dev.kiln.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/** Commands in one sandbox: run to completion, or start and follow. */
public final class Commands {
  /** The longest start request (URL-encoded) sent in a handshake's URL; well under the 16 KiB of request line and headers a daemon takes. */
  private static final int START_IN_HANDSHAKE_MAX = 4096;
  /** How long a start may take to be confirmed (the guest may be busy). */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);
  private final Kiln kiln;
  private final String sandboxId;

  Commands(Kiln kiln, String sandboxId) {
    this.kiln = kiln;
    this.sandboxId = sandboxId;
  }

  /** Runs a shell command line to its end (command timeout 60 s) and returns its output. */
  public CommandResult run(String command) {
    return run(List.of("/bin/sh", "-c", command), Duration.ofSeconds(60));
  }

  /** Runs argv (no shell) to its end, killing it after {@code timeout} (zero: no limit). */
  public CommandResult run(List<String> argv, Duration timeout) {
    JsonNode r = kiln.post("/v1/sandboxes/" + sandboxId + "/exec", Map.of("argv", argv, "timeoutSeconds", timeout.toSeconds()));
    return new CommandResult(r.path("exitCode").asInt(), r.path("signal").asInt(0), r.path("timedOut").asBoolean(), r.path("stdout").asText(),
        r.path("stderr").asText());
  }

  /**
   * Starts a shell command line in the background, with stdin open, and follows it: each chunk of
   * output goes to the callbacks (on the SDK's thread, in order) as the command writes it.
   */
  public CommandHandle start(String command, Consumer<String> onStdout, Consumer<String> onStderr) {
    return start(List.of("/bin/sh", "-c", command), Map.of(), b -> onStdout.accept(new String(b, StandardCharsets.UTF_8)),
        b -> onStderr.accept(new String(b, StandardCharsets.UTF_8)));
  }

  /** Starts argv in the background with extra environment; output bytes go to the callbacks. */
  public CommandHandle start(List<String> argv, Map<String, String> env, Consumer<byte[]> onStdout, Consumer<byte[]> onStderr) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("argv", argv);
    body.put("env", env);
    body.put("stdin", true);
    return start(body, onStdout, onStderr);
  }

  /**
   * One WebSocket that starts the command and follows it; a request too long for a handshake's
   * URL (a large environment) is started by POST and followed after.
   */
  private CommandHandle start(Map<String, Object> body, Consumer<byte[]> onStdout, Consumer<byte[]> onStderr) {
    String start = Kiln.q(new String(Kiln.bytes(body), StandardCharsets.UTF_8));
    if (start.length() <= START_IN_HANDSHAKE_MAX) return CommandHandle.starting(kiln, sandboxId, start, START_TIMEOUT, onStdout, onStderr);
    long pid = kiln.post("/v1/sandboxes/" + sandboxId + "/processes", body).path("pid").asLong();
    return new CommandHandle(kiln, sandboxId, pid, 0, onStdout, onStderr);
  }

  /**
   * Re-attaches to a command started earlier (by this client or another), replaying its kept
   * output from {@code cursor} (0: all the daemon still has; {@link CommandHandle#cursor} of an
   * earlier handle: only what that one did not see), then following it live.
   */
  public CommandHandle connect(long pid, long cursor, Consumer<byte[]> onStdout, Consumer<byte[]> onStderr) {
    return new CommandHandle(kiln, sandboxId, pid, cursor, onStdout, onStderr);
  }

  /**
   * Follows a command started earlier from its first kept byte, passing its output only to the
   * callbacks: {@link CommandHandle#await} then returns the exit status with empty output, so a
   * command that prints gigabytes costs this client no memory.
   */
  public CommandHandle stream(long pid, Consumer<byte[]> onStdout, Consumer<byte[]> onStderr) {
    return new CommandHandle(kiln, sandboxId, pid, 0, onStdout, onStderr, false);
  }

  /** A process on a terminal; with {@code login} and an empty {@code argv}, the user's login shell. */
  CommandHandle startPty(List<String> argv, Map<String, String> env, int rows, int cols, boolean login, Consumer<byte[]> onData) {
    Map<String, Object> body = new java.util.LinkedHashMap<>();
    if (!argv.isEmpty() || !login) body.put("argv", argv);
    body.put("env", env);
    body.put("pty", Map.of("rows", rows, "cols", cols));
    if (login) body.put("login", true);
    return start(body, onData, onData);
  }
}
