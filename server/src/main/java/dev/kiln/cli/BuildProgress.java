package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.Map;

/**
 * Shows a template build as it goes: a bar per layer, redrawn in place on a terminal; on a pipe,
 * one line per change of phase or layer state, so logs of scripted runs stay readable.
 */
final class BuildProgress {
  private static final int BAR = 30;
  private final PrintStream out;
  private final boolean terminal;
  private final Map<String, String> lastState = new HashMap<>();
  private String lastPhase = "";
  private int drawnLines;

  BuildProgress(PrintStream out, boolean terminal) {
    this.out = out;
    this.terminal = terminal;
  }

  void show(JsonNode template) {
    String phase = template.path("progress").path("phase").asText(template.path("status").asText());
    JsonNode layers = template.path("progress").path("layers");
    if (terminal) {
      redraw(phase, layers);
      return;
    }
    if (!phase.equals(lastPhase)) out.println(phase);
    lastPhase = phase;
    for (JsonNode l : layers) {
      String state = l.path("state").asText();
      if (!state.equals(lastState.put(l.path("digest").asText(), state))) out.println("  " + line(l));
    }
  }

  private void redraw(String phase, JsonNode layers) {
    StringBuilder b = new StringBuilder();
    if (drawnLines > 0) b.append("\033[").append(drawnLines).append("F");
    b.append("\033[2K").append(phase).append('\n');
    int lines = 1;
    for (JsonNode l : layers) {
      b.append("\033[2K  ").append(line(l)).append('\n');
      lines++;
    }
    drawnLines = lines;
    out.print(b);
    out.flush();
  }

  private static String line(JsonNode l) {
    long size = l.path("size").asLong();
    long done = l.path("done").asLong();
    int filled = size == 0 ? BAR : (int) Math.min(BAR, done * BAR / size);
    String digest = l.path("digest").asText().replace("sha256:", "");
    return String.format("%s [%s%s] %7.1f/%.1f MiB %s", digest.substring(0, Math.min(12, digest.length())), "#".repeat(filled),
        ".".repeat(BAR - filled), done / 1048576.0, size / 1048576.0, l.path("state").asText());
  }
}
