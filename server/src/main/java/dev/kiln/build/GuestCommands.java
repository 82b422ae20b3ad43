package dev.kiln.build;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.AgentException;
import dev.kiln.agent.ExecEvent;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.ExitStatus;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Consumer;

/** Commands a build runs in its VMs, their output given line by line (the build log's). */
final class GuestCommands {
  /** A line of output beyond this is cut: the guest writes it, the log keeps it. */
  private static final int MAX_LINE = 8192;

  private GuestCommands() {}

  /** Runs argv to its end; every output line (stdout and stderr alike) goes to {@code lines}. */
  static ExitStatus run(AgentConnection agent, List<String> argv, Map<String, String> env, String cwd, OptionalInt uid, OptionalInt gid, Duration timeout,
      Consumer<String> lines) throws AgentException, InterruptedException {
    ExecRequest req = new ExecRequest(argv, env, cwd, uid, gid, Optional.of(timeout), false);
    LineSplitter out = new LineSplitter(lines);
    LineSplitter err = new LineSplitter(lines);
    try (ExecHandle h = agent.exec(req)) {
      while (true) {
        ExecEvent e = h.next(timeout.plusSeconds(10));
        if (e == null) throw new AgentException("the command gave no sign of life for " + timeout.plusSeconds(10).toSeconds() + " s", null);
        switch (e) {
          case ExecEvent.Output o -> (o.stderr() ? err : out).accept(o.data());
          case ExecEvent.Exited x -> {
            out.flush();
            err.flush();
            return x.status();
          }
        }
      }
    }
  }

  /** Runs argv as root and says what it printed when it fails. */
  static void runOrFail(AgentConnection agent, List<String> argv, String what) throws AgentException, InterruptedException {
    StringBuilder said = new StringBuilder();
    ExitStatus s = run(agent, argv, Map.of(), "/", OptionalInt.empty(), OptionalInt.empty(), Duration.ofMinutes(5), l -> {
      if (said.length() < 1000) said.append(l).append('\n');
    });
    if (s.exitCode() != 0) {
      throw new IllegalArgumentException(what + " failed (" + argv.getFirst() + " exited with " + s.exitCode() + (said.isEmpty() ? "" : ": " + said.toString().strip()) + ")");
    }
  }

  /** Bytes to lines; a partial line waits for its end (or the command's). */
  private static final class LineSplitter {
    private final Consumer<String> lines;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    LineSplitter(Consumer<String> lines) {
      this.lines = lines;
    }

    void accept(byte[] data) {
      for (byte b : data) {
        if (b == '\n') {
          flush();
        } else if (line.size() < MAX_LINE) {
          line.write(b);
        }
      }
    }

    void flush() {
      if (line.size() == 0) return;
      lines.accept(line.toString(StandardCharsets.UTF_8).replace("\r", ""));
      line.reset();
    }
  }
}
