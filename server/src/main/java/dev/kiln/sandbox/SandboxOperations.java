package dev.kiln.sandbox;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.agent.ExecEvent;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.FileEntry;
import dev.kiln.agent.GuestFileInput;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Exec and file operations on running sandboxes, through their agents. */
public final class SandboxOperations {
  /** Output kept per stream of a one-shot exec; more is drained and dropped, and flagged. */
  public static final int MAX_COLLECTED_OUTPUT = 16 << 20;
  /** The host waits this much longer than the command timeout, since the guest enforces the timeout. */
  private static final Duration HOST_MARGIN = Duration.ofSeconds(30);
  /** Longest listing returned in one call; bigger directories get an error instead of a huge heap. */
  private static final int MAX_LIST_ENTRIES = 100_000;
  private static final int MAX_PATH = 4096;

  private final SandboxManager manager;

  public SandboxOperations(SandboxManager manager) {
    this.manager = manager;
  }

  /** Runs a command to completion. A command timeout is a result (timedOut), not an error. */
  public ExecOutcome exec(String id, ExecRequest req) throws InterruptedException {
    AgentConnection agent = manager.agent(id);
    ExecRequest withEnv = withSandboxEnv(id, req);
    long start = System.nanoTime();
    Collector out = new Collector();
    Collector err = new Collector();
    try (ExecHandle h = agent.exec(withEnv)) {
      Duration hostDeadline = req.timeout().map(t -> t.plus(HOST_MARGIN)).orElse(Duration.ofDays(365));
      long deadline = System.nanoTime() + hostDeadline.toNanos();
      while (true) {
        ExecEvent ev = h.next(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        switch (ev) {
          case null -> {
            // The guest did not enforce the timeout; closing the handle cancels (kills) the process.
            return new ExecOutcome(-1, 0, true, out.bytes(), err.bytes(), out.truncated, err.truncated, since(start), Duration.ZERO, 0);
          }
          case ExecEvent.Output o -> (o.stderr() ? err : out).add(o.data());
          case ExecEvent.Exited x -> {
            var s = x.status();
            return new ExecOutcome(s.exitCode(), s.signal(), s.timedOut(), out.bytes(), err.bytes(), out.truncated, err.truncated,
                since(start), s.cpu(), s.peakRssKib());
          }
        }
      }
    } catch (AgentException e) {
      throw execFailure(id, req, e, agent);
    }
  }

  /** The request with the sandbox's environment under its own (the request's variables win). */
  ExecRequest withSandboxEnv(String id, ExecRequest req) {
    Map<String, String> env = new HashMap<>(manager.env(id));
    env.putAll(req.env());
    return req.withEnv(env);
  }

  /**
   * A process that could not be started, by the guest's errno: no such program (ENOENT) is
   * COMMAND_NOT_FOUND, a program that cannot run (EACCES, ENOEXEC, EISDIR) COMMAND_NOT_EXECUTABLE,
   * as a shell's 127 and 126; anything else EXEC_FAILED. The agent reports the errno of whatever
   * failed in the child before execve too, so an ENOENT or ENOTDIR with a working directory is
   * checked against that directory, and an ENOENT of a program that exists is its interpreter's.
   */
  KilnException execFailure(String id, ExecRequest req, AgentException e, AgentConnection agent) throws InterruptedException {
    if (!e.fromGuest()) return manager.cutOff(id, "exec " + req.program(), agent, e);
    if (req.argv().isEmpty()) { // a login with no command: the user's shell from the guest's passwd (the agent names it)
      return new KilnException(ErrorCode.EXEC_FAILED, "sandbox " + id + ": cannot start the login shell: " + e.getMessage() + " (errno " + e.errno() + ")", e);
    }
    String program = req.argv().getFirst();
    boolean viaShell = req.argv().size() == 3 && program.equals("/bin/sh") && req.argv().get(1).equals("-c");
    switch (e.errno()) {
      case AgentException.ENOENT, AgentException.ENOTDIR -> {
        if (!req.cwd().isEmpty() && !req.cwd().equals("/") && !isDirectory(agent, req.cwd())) {
          return new KilnException(ErrorCode.INVALID_REQUEST, "field 'cwd': no directory '" + req.cwd() + "' in sandbox " + id, e);
        }
        if (program.startsWith("/") && exists(agent, program)) {
          return new KilnException(ErrorCode.COMMAND_NOT_FOUND, "command '" + program + "' in sandbox " + id
              + " cannot start: the interpreter it names (its ELF loader or #! program) is missing", e);
        }
        String where = viaShell ? "; field 'command' runs /bin/sh -c and this template has no shell: give the program in field 'argv' instead"
            : program.contains("/") ? "" : " (looked for it in the directories of its PATH)";
        return new KilnException(ErrorCode.COMMAND_NOT_FOUND, "no such command '" + program + "' in sandbox " + id + where, e);
      }
      case AgentException.EACCES, AgentException.ENOEXEC, AgentException.EISDIR -> {
        String why = switch (e.errno()) {
          case AgentException.EISDIR -> "it is a directory";
          case AgentException.ENOEXEC -> "it is not a program this guest can run (exec format error)";
          default -> "permission denied (no execute permission for the user it runs as)";
        };
        return new KilnException(ErrorCode.COMMAND_NOT_EXECUTABLE, "command '" + program + "' in sandbox " + id + " is not executable: " + why, e);
      }
      default -> {
        return new KilnException(ErrorCode.EXEC_FAILED, "sandbox " + id + ": cannot execute '" + program + "': " + e.getMessage() + " (errno " + e.errno() + ")", e);
      }
    }
  }

  /** False only when the guest says it is missing or not a directory (stat does not follow a final symlink: that counts as one). */
  private static boolean isDirectory(AgentConnection agent, String path) throws InterruptedException {
    try {
      FileEntry.Kind k = agent.files().stat(path).kind();
      return k == FileEntry.Kind.DIRECTORY || k == FileEntry.Kind.SYMLINK;
    } catch (AgentException e) {
      return !e.fromGuest() || (e.errno() != AgentException.ENOENT && e.errno() != AgentException.ENOTDIR);
    }
  }

  private static boolean exists(AgentConnection agent, String path) throws InterruptedException {
    try {
      agent.files().stat(path);
      return true;
    } catch (AgentException e) {
      return false;
    }
  }

  public GuestFileInput readFile(String id, String path) throws InterruptedException {
    String p = checkPath(path);
    return onAgent(id, "read " + path, agent -> agent.files().read(p));
  }

  public long writeFile(String id, String path, int mode, InputStream content) throws InterruptedException, IOException {
    String p = checkPath(path);
    AgentConnection agent = manager.agent(id);
    try {
      return agent.files().write(p, mode, true, content);
    } catch (AgentException e) {
      throw failure(id, "write " + path, agent, e);
    }
  }

  public List<FileEntry> list(String id, String path) throws InterruptedException {
    String p = checkPath(path);
    return onAgent(id, "list " + path, agent -> agent.files().list(p, MAX_LIST_ENTRIES));
  }

  public FileEntry stat(String id, String path) throws InterruptedException {
    String p = checkPath(path);
    return onAgent(id, "stat " + path, agent -> agent.files().stat(p));
  }

  public void mkdir(String id, String path, int mode, boolean parents) throws InterruptedException {
    String p = checkPath(path);
    onAgent(id, "mkdir " + path, agent -> {
      agent.files().mkdir(p, mode, parents);
      return null;
    });
  }

  public void rename(String id, String from, String to) throws InterruptedException {
    String f = checkPath(from);
    String t = checkPath(to);
    onAgent(id, "rename " + from + " to " + to, agent -> {
      agent.files().rename(f, t);
      return null;
    });
  }

  public void remove(String id, String path, boolean recursive) throws InterruptedException {
    String p = checkPath(path);
    if (p.equals("/")) throw new KilnException(ErrorCode.INVALID_REQUEST, "refusing to remove the sandbox's root directory");
    onAgent(id, "remove " + path, agent -> {
      agent.files().remove(p, recursive);
      return null;
    });
  }

  /** One call to a running sandbox's agent. */
  private interface AgentCall<T> {
    T run(AgentConnection agent) throws AgentException, InterruptedException;
  }

  private <T> T onAgent(String id, String what, AgentCall<T> call) throws InterruptedException {
    AgentConnection agent = manager.agent(id);
    try {
      return call.run(agent);
    } catch (AgentException e) {
      throw failure(id, what, agent, e);
    }
  }

  /**
   * A call that failed: by the guest's errno, or, when its channel closed under it, by what closed
   * it (a pause, stop, restore or delete of the sandbox: a 409 or 404 a client can act on; the
   * channel breaking on its own: 502).
   */
  KilnException failure(String id, String what, AgentConnection agent, AgentException e) throws InterruptedException {
    return e.fromGuest() ? guestFailure(id, what, e) : manager.cutOff(id, what, agent, e);
  }


  /**
   * Guest paths must be absolute, without NUL, at most 4096 bytes. '..' is harmless: the agent
   * resolves it inside the guest's own root, which is the whole sandbox.
   */
  static String checkPath(String path) {
    if (path == null || path.isEmpty()) throw new KilnException(ErrorCode.INVALID_REQUEST, "path is required");
    if (!path.startsWith("/")) throw new KilnException(ErrorCode.INVALID_REQUEST, "path must be absolute, got '" + path + "'");
    if (path.indexOf('\0') >= 0) throw new KilnException(ErrorCode.INVALID_REQUEST, "path contains a NUL byte");
    if (path.length() > MAX_PATH) throw new KilnException(ErrorCode.INVALID_REQUEST, "path is longer than " + MAX_PATH + " characters");
    return path;
  }

  /** Turns a guest errno into the client-facing error; a broken channel is the guest's unavailability. */
  static KilnException guestFailure(String id, String what, AgentException e) {
    if (!e.fromGuest()) return new KilnException(ErrorCode.GUEST_UNAVAILABLE, "sandbox " + id + ": " + what + ": " + e.getMessage(), e);
    ErrorCode code = switch (e.errno()) {
      case AgentException.ENOENT -> ErrorCode.FILE_NOT_FOUND;
      case AgentException.EEXIST, AgentException.ENOTEMPTY, AgentException.EISDIR, AgentException.ENOTDIR -> ErrorCode.FILE_CONFLICT;
      case AgentException.EACCES -> ErrorCode.PERMISSION_DENIED;
      case AgentException.EINVAL -> ErrorCode.INVALID_REQUEST;
      case AgentException.ENOSPC -> ErrorCode.DISK_FULL;
      default -> ErrorCode.GUEST_ERROR;
    };
    return new KilnException(code, "sandbox " + id + ": " + what + ": " + e.getMessage() + " (errno " + e.errno() + ")", e);
  }

  private static Duration since(long startNanos) {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  /** Keeps up to MAX_COLLECTED_OUTPUT bytes of one stream. */
  private static final class Collector {
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
    boolean truncated;

    void add(byte[] data) {
      int room = MAX_COLLECTED_OUTPUT - buf.size();
      if (data.length > room) truncated = true;
      buf.write(data, 0, Math.min(room, data.length));
    }

    byte[] bytes() {
      return buf.toByteArray();
    }
  }
}
