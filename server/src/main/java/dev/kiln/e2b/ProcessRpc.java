package dev.kiln.e2b;

import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.ExitStatus;
import dev.kiln.agent.TerminalSize;
import dev.kiln.api.CommandRequests;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.sandbox.GuestProcess;
import dev.kiln.sandbox.OutputFollower;
import dev.kiln.sandbox.ProcessService;
import dev.kiln.sandbox.Scrollback;
import java.io.IOException;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * envd's {@code process.Process} service on Kiln's background processes (one process model): Start
 * and Connect stream a process's events from its scrollback, the unary calls reach it by pid.
 */
final class ProcessRpc {
  /** envd's default interval between keepalive events when the SDK names none. */
  private static final Duration DEFAULT_KEEPALIVE = Duration.ofSeconds(90);
  private static final Map<Integer, String> SIGNAL_ENUM = Map.of(0, "SIGNAL_UNSPECIFIED", 9, "SIGNAL_SIGKILL", 15, "SIGNAL_SIGTERM");
  private static final Map<String, Integer> SIGNALS = Map.of("SIGNAL_SIGKILL", 9, "SIGNAL_SIGTERM", 15);
  /** How Go's os.ProcessState names the signals a process most often ends by, as envd reports them. */
  private static final Map<Integer, String> SIGNAL_WORDS = Map.of(1, "hangup", 2, "interrupt", 3, "quit", 6, "aborted", 9, "killed",
      11, "segmentation fault", 13, "broken pipe", 15, "terminated");

  private final ProcessService processes;
  private final CommandRequests commands;

  ProcessRpc(ProcessService processes, CommandRequests commands) {
    this.processes = processes;
    this.commands = commands;
  }

  static boolean streaming(String method) {
    return method.equals("Start") || method.equals("Connect");
  }

  void call(String method, EnvdCall call, ProtoJson req) throws Exception {
    String id = call.sandboxId();
    switch (method) {
      case "Start" -> start(call, req);
      case "Connect" -> follow(call, processes.get(id, pid(req)), true);
      case "List" -> Envd.unary(call.exchange(), Map.of("processes", processes.list(id).stream()
          .filter(p -> p.status() == GuestProcess.Status.RUNNING).map(ProcessRpc::info).toList()));
      case "SendInput" -> {
        ProtoJson input = req.message("input").orElseThrow(() -> ProtoJson.invalid("SendInputRequest.input is required"));
        byte[] data = input.bytes("stdin").or(() -> input.bytes("pty")).orElse(new byte[0]);
        processes.writeStdin(id, running(id, pid(req)), data, false);
        Envd.unary(call.exchange(), Map.of());
      }
      case "CloseStdin" -> {
        processes.writeStdin(id, running(id, pid(req)), new byte[0], true);
        Envd.unary(call.exchange(), Map.of());
      }
      case "SendSignal" -> {
        String name = req.enumName("signal", SIGNAL_ENUM).orElse("SIGNAL_UNSPECIFIED");
        Integer signo = SIGNALS.get(name);
        if (signo == null) throw ProtoJson.invalid("signal must be SIGNAL_SIGKILL or SIGNAL_SIGTERM, got " + name);
        processes.signal(id, running(id, pid(req)), signo);
        Envd.unary(call.exchange(), Map.of());
      }
      case "Update" -> {
        long pid = running(id, pid(req));
        Optional<ProtoJson> size = req.message("pty").flatMap(p -> p.message("size"));
        if (size.isPresent()) processes.resize(id, pid, terminal(size.get()));
        Envd.unary(call.exchange(), Map.of());
      }
      case "StreamInput" -> throw new ConnectException(ConnectCode.UNIMPLEMENTED,
          "process.Process/StreamInput is client streaming, which Kiln does not serve (the E2B SDK uses SendInput)");
      default -> throw new ConnectException(ConnectCode.UNIMPLEMENTED, "process.Process has no method " + method);
    }
  }

  private void start(EnvdCall call, ProtoJson req) throws Exception {
    ProtoJson config = req.message("process").orElseThrow(() -> ProtoJson.invalid("StartRequest.process is required"));
    String cmd = config.string("cmd", "");
    if (cmd.isEmpty()) throw ProtoJson.invalid("StartRequest.process.cmd is required");
    List<String> argv = new java.util.ArrayList<>();
    argv.add(cmd);
    argv.addAll(config.strings("args"));
    Optional<TerminalSize> pty = req.message("pty").map(p -> p.message("size").map(ProcessRpc::terminal).orElse(new TerminalSize(24, 80)));
    // envd keeps stdin open unless told not to (the SDK's commands.run says "stdin": false).
    boolean stdin = pty.isPresent() || !req.has("stdin") || req.bool("stdin");
    if (req.has("tag")) throw ProtoJson.invalid("process tags are not supported by Kiln: select processes by pid");
    // The request's deadline is the process's lifetime, as in envd; none means until it exits.
    Duration lifetime = Envd.deadline(call.exchange()).orElse(Duration.ZERO);
    String cwd = config.string("cwd", null);
    ExecRequest exec = commands.from(call.sandboxId(), argv, null, config.stringMap("envs"), cwd, call.user().orElse(null), null, lifetime, stdin, pty,
        true);
    CommandRequests.audit(call.exchange(), exec);
    GuestProcess p = processes.start(call.sandboxId(), exec, Duration.ZERO);
    call.exchange().audit("pid", p.pid());
    follow(call, p, false);
  }

  /**
   * The start event, then the process's output from where it is (Start: all of it; Connect: from
   * now, as envd attaches), keepalives while it is quiet, and its end. A client that goes away
   * leaves the process running.
   */
  private void follow(EnvdCall call, GuestProcess p, boolean fromNow) throws InterruptedException {
    Duration keepalive = Envd.keepaliveInterval(call.exchange()).orElse(DEFAULT_KEEPALIVE);
    try (ConnectStream stream = ConnectStream.open(call.exchange())) {
      stream.send(event("start", Map.of("pid", p.pid())));
      p.follow(fromNow ? p.outputBytes() : 0, true, keepalive, new OutputFollower() {
        public void overflow(long dropped, long resume) {
          // Output the scrollback no longer holds is gone; envd streams have no way to say so.
        }

        public void output(Scrollback.Chunk c) throws IOException {
          String stream1 = p.pty() ? "pty" : c.stderr() ? "stderr" : "stdout";
          stream.send(event("data", Map.of(stream1, Base64.getEncoder().encodeToString(c.data()))));
        }

        public void replayed(long cursor) {}

        public void idle(long cursor) throws IOException {
          stream.send(event("keepalive", Map.of()));
        }

        public void ended(GuestProcess process) throws IOException {
          Optional<ExitStatus> exit = process.exit();
          if (exit.isEmpty()) {
            stream.fail(ConnectCode.UNAVAILABLE, "process " + process.pid() + " is " + process.status().name().toLowerCase(java.util.Locale.ROOT)
                + ": its sandbox's agent session ended (the sandbox moved or its VM stopped)");
            return;
          }
          stream.send(event("end", end(exit.get())));
        }
      });
    } catch (IOException e) {
      // The client went away; the process runs on.
    }
  }

  /** Go's ProcessState, as envd reports it: "exit status N", or -1 and "signal: killed". */
  static Map<String, Object> end(ExitStatus e) {
    Map<String, Object> m = new LinkedHashMap<>();
    boolean signalled = e.signal() != 0;
    String status = signalled ? "signal: " + SIGNAL_WORDS.getOrDefault(e.signal(), "signal " + e.signal()) : "exit status " + e.exitCode();
    m.put("exitCode", signalled ? -1 : e.exitCode());
    m.put("exited", !signalled);
    m.put("status", status);
    if (signalled || e.exitCode() != 0) m.put("error", status);
    return m;
  }

  private static Map<String, Object> event(String kind, Object body) {
    return Map.of("event", Map.of(kind, body));
  }

  private static Map<String, Object> info(GuestProcess p) {
    Map<String, Object> config = new LinkedHashMap<>();
    List<String> argv = p.argv();
    config.put("cmd", argv.isEmpty() ? "" : argv.get(0));
    config.put("args", argv.isEmpty() ? List.of() : argv.subList(1, argv.size()));
    config.put("envs", Map.of());
    return Map.of("config", config, "pid", p.pid());
  }

  private static TerminalSize terminal(ProtoJson size) {
    long cols = size.uint32("cols", 80);
    long rows = size.uint32("rows", 24);
    if (cols < 1 || cols > 0xFFFF || rows < 1 || rows > 0xFFFF) throw ProtoJson.invalid("a terminal is 1..65535 columns and rows, got " + cols + "x" + rows);
    return new TerminalSize((int) rows, (int) cols);
  }

  private static long pid(ProtoJson req) {
    ProtoJson selector = req.message("process").orElseThrow(() -> ProtoJson.invalid("the request's process selector is required"));
    if (selector.has("tag")) throw ProtoJson.invalid("process tags are not supported by Kiln: select processes by pid");
    long pid = selector.uint32("pid", -1);
    if (pid < 0) throw ProtoJson.invalid("the process selector needs a pid");
    return pid;
  }

  /** The pid, if that process still runs: one that ended is not_found to the SDK (its kill answers false). */
  private long running(String id, long pid) {
    try {
      processes.running(id, pid);
      return pid;
    } catch (KilnException e) {
      if (e.code() == ErrorCode.ILLEGAL_TRANSITION) throw new ConnectException(ConnectCode.NOT_FOUND, "process " + pid + " is not running");
      throw e;
    }
  }
}
