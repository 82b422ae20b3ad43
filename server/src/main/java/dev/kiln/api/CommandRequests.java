package dev.kiln.api;

import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.TerminalSize;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.image.oci.ImageConfig;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.sandbox.UserResolver;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** Turns the command fields of /exec and /processes requests into an {@link ExecRequest}. */
public final class CommandRequests {
  /** The longest command timeout a request may ask for. */
  public static final Duration MAX_TIMEOUT = Duration.ofDays(7);
  private final SandboxManager sandboxes;
  private final UserResolver users;

  public CommandRequests(SandboxManager sandboxes, UserResolver users) {
    this.sandboxes = sandboxes;
    this.users = users;
  }

  /**
   * A command as the API gives it (argv or a shell command line, env, cwd, user, command timeout),
   * with the image's User and WorkingDir as defaults, as `docker run` has them. A {@code login}
   * starts in the user's home instead of the WorkingDir, and needs no command: it runs the user's
   * login shell.
   */
  public ExecRequest from(String id, List<String> argvField, String command, Map<String, String> env, String cwdField, String userField,
      Long timeoutSeconds, Duration defaultTimeout, boolean stdin, Optional<TerminalSize> pty, boolean login) throws InterruptedException {
    List<String> argv;
    if (argvField != null && command != null) throw new KilnException(ErrorCode.INVALID_REQUEST, "give either field 'argv' or field 'command', not both");
    if (argvField != null) {
      if (argvField.isEmpty() || argvField.stream().anyMatch(a -> a == null)) throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'argv' must be a non-empty array of strings");
      argv = argvField;
    } else if (command != null) {
      argv = List.of("/bin/sh", "-c", command);
    } else if (login) {
      argv = List.of();
    } else {
      throw new KilnException(ErrorCode.INVALID_REQUEST,
          "one of the fields 'argv' (an array of strings) or 'command' (a shell command line) is required, or field 'login' true for the user's login shell");
    }
    if (timeoutSeconds != null && (timeoutSeconds < 0 || timeoutSeconds > MAX_TIMEOUT.toSeconds())) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "field 'timeoutSeconds' must be 0 (none)..604800 (7 days), got " + timeoutSeconds);
    }
    Duration timeout = timeoutSeconds == null ? defaultTimeout : Duration.ofSeconds(timeoutSeconds);
    ImageConfig image = sandboxes.imageConfig(id);
    String user = userField != null ? userField : image.user().isEmpty() ? null : image.user();
    UserResolver.Ids ids = user == null ? UserResolver.Ids.AGENT : users.resolve(id, user);
    String cwd = cwdField != null ? cwdField : login ? "" : image.workingDir();
    return new ExecRequest(argv, env == null ? Map.of() : env, cwd, ids.uid(), ids.gid(), Optional.of(timeout), stdin,
        pty, login);
  }

  /** What an audit record says of a command: what ran, as whom, where (its environment is left out: it often holds secrets). */
  public static void audit(Exchange x, ExecRequest req) {
    x.audit("argv", req.argv());
    x.audit("uid", req.uid().isPresent() ? req.uid().getAsInt() : 0);
    x.audit("cwd", req.cwd());
    if (req.pty().isPresent()) x.audit("pty", true);
  }
}
