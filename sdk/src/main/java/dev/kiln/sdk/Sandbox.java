package dev.kiln.sdk;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One sandbox: a microVM. Closing it deletes it, so try-with-resources leaves nothing behind.
 *
 * <pre>{@code
 * try (Sandbox sb = Sandbox.create(kiln, CreateOptions.builder("base").memoryMib(1024).build())) {
 *   sb.files().write("/root/in.txt", "hello");
 *   CommandResult r = sb.commands().run("wc -c < /root/in.txt");
 * }
 * }</pre>
 */
public final class Sandbox implements AutoCloseable {
  private final Kiln kiln;
  private final String id;

  private Sandbox(Kiln kiln, String id) {
    this.kiln = kiln;
    this.id = id;
  }

  /** A new sandbox of the template at the daemon's default size and TTL. */
  public static Sandbox create(Kiln kiln, String template) {
    return create(kiln, CreateOptions.of(template));
  }

  /**
   * A new sandbox, running when this returns (restored from its template's snapshot, or booted).
   *
   * @throws KilnException with the API's code: TEMPLATE_NOT_FOUND, INVALID_REQUEST for a size out
   *     of range (naming the field), HTTP 422 when this host cannot give the size asked for
   */
  public static Sandbox create(Kiln kiln, CreateOptions options) {
    return new Sandbox(kiln, kiln.post("/v1/sandboxes", options.body()).path("id").asText());
  }

  /** An existing sandbox, by id; asks the daemon, so an unknown or deleted one is a {@link KilnException} here. */
  public static Sandbox connect(Kiln kiln, String id) {
    kiln.get("/v1/sandboxes/" + Kiln.q(id));
    return of(kiln, id);
  }

  /**
   * A handle on a sandbox by id without asking the daemon: one round trip fewer than
   * {@link #connect} when the first call is made at once anyway (an unknown or deleted sandbox is
   * then that call's {@link KilnException}).
   */
  public static Sandbox of(Kiln kiln, String id) {
    return new Sandbox(kiln, id);
  }

  public String id() {
    return id;
  }

  /** creating, running, paused, stopping or error. */
  public String status() {
    return info().path("status").asText();
  }

  public Commands commands() {
    return new Commands(kiln, id);
  }

  public SandboxFiles files() {
    return new SandboxFiles(kiln, id);
  }

  /** An interactive terminal running {@code /bin/sh}: write keystrokes with sendStdin, resize it, read what it shows. */
  public CommandHandle pty(int rows, int cols, Consumer<byte[]> onData) {
    return pty(List.of("/bin/sh"), Map.of(), rows, cols, onData);
  }

  /** An interactive terminal running {@code argv} with extra environment (TERM, say). */
  public CommandHandle pty(List<String> argv, Map<String, String> env, int rows, int cols, Consumer<byte[]> onData) {
    return commands().startPty(argv, env, rows, cols, false, onData);
  }

  /**
   * An interactive login, like ssh: the user's login shell from the guest's /etc/passwd (root's,
   * as the sandbox runs commands as root unless its image names a user; /bin/sh when the entry
   * names no shell that exists), started as a login shell in the home directory, with HOME, USER,
   * LOGNAME and SHELL set; {@code env} (TERM, say) is added over them.
   */
  public CommandHandle loginShell(Map<String, String> env, int rows, int cols, Consumer<byte[]> onData) {
    return commands().startPty(List.of(), env, rows, cols, true, onData);
  }

  /** Saves the VM to disk and frees its RAM and CPU; any command or file call resumes it. */
  public void pause() {
    kiln.post("/v1/sandboxes/" + id + "/pause", Map.of());
  }

  public void resume() {
    kiln.post("/v1/sandboxes/" + id + "/resume", Map.of());
  }

  private JsonNode info() {
    return kiln.get("/v1/sandboxes/" + id);
  }

  /** Deletes the sandbox (a sandbox already gone is fine: deleted, expired by its TTL, or unknown). */
  @Override
  public void close() {
    try {
      kiln.delete("/v1/sandboxes/" + id);
    } catch (KilnException e) {
      if (!java.util.Set.of("SANDBOX_NOT_FOUND", "SANDBOX_DELETED", "SANDBOX_EXPIRED").contains(e.code())) throw e;
    }
  }
}
