package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.List;

/**
 * Shows a node's drain as it goes: one bar of the sandboxes moved (running and paused together),
 * redrawn in place on a terminal; on a pipe, a line whenever the count changes.
 */
final class DrainProgress {
  static final List<String> COLUMNS = List.of("state", "startedAt", "finishedAt");
  private static final int BAR = 30;
  private final PrintStream out;
  private final boolean terminal;
  private String last = "";

  DrainProgress(PrintStream out, boolean terminal) {
    this.out = out;
    this.terminal = terminal;
  }

  void show(JsonNode drain) {
    int total = drain.path("running").path("total").asInt() + drain.path("saved").path("total").asInt();
    int moved = drain.path("running").path("moved").asInt() + drain.path("saved").path("moved").asInt();
    int failed = drain.path("running").path("failed").asInt() + drain.path("saved").path("failed").asInt();
    int filled = total == 0 ? BAR : Math.min(BAR, (moved + failed) * BAR / total);
    String line = String.format("%s [%s%s] %d/%d moved%s", drain.path("state").asText(), "#".repeat(filled), ".".repeat(BAR - filled), moved, total,
        failed == 0 ? "" : ", " + failed + " failed");
    if (line.equals(last)) return;
    last = line;
    out.print(terminal ? "\r\033[2K" + line : line + "\n");
    if (terminal && !drain.path("state").asText().equals("draining")) out.print("\n");
    out.flush();
  }
}
