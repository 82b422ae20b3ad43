package dev.kiln.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a bench run found, printed as it is found (so a long run shows progress) and kept for the
 * end: the table of Kiln's paths against their floors with the goals, and with {@code --json} one
 * JSON document on standard output (the lines then go to standard error) so runs can be compared.
 */
final class BenchReport {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final boolean json;
  private final ObjectNode document = JSON.createObjectNode();
  private final ArrayNode measurements = document.putArray("measurements");
  private final ArrayNode notes = document.putArray("notes");
  private final List<Comparison> comparisons = new ArrayList<>();

  /** One of Kiln's paths beside the floor it is built on. */
  record Comparison(String path, Stats kiln, Stats floor, Optional<Goal> goal) {
    double ratio() {
      return kiln.median() / floor.median();
    }

    double over() {
      return kiln.median() - floor.median();
    }

    Optional<Boolean> met() {
      return goal.map(g -> g.met(kiln.median(), floor.median()));
    }
  }

  BenchReport(boolean json) {
    this.json = json;
  }

  /** A report that prints lines only: for parts run on their own (tests). */
  static BenchReport text() {
    return new BenchReport(false);
  }

  /** Facts about the run (accelerator, rounds, guest) for the JSON document. */
  void fact(String key, Object value) {
    document.set(key, JSON.valueToTree(value));
  }

  void say(String line) {
    // Looked up on each line: a caller may have replaced System.out (tests keep what is printed).
    (json ? System.err : System.out).println(line);
  }

  /** A measurement's line, printed now. */
  void line(Stats s) {
    say(s.line());
    ObjectNode m = measurements.addObject();
    m.put("name", s.name()).put("unit", s.unit()).put("n", s.samples()).put("median", s.median()).put("p90", s.percentile(90))
        .put("p99", s.percentile(99));
    ArrayNode samples = m.putArray("samples");
    s.sorted().forEach(samples::add);
  }

  /** A line derived from measurements (a ratio, a difference) or a reason lines were skipped. */
  void note(String line) {
    say(line);
    notes.add(line);
  }

  void compare(String path, Stats kiln, Stats floor, Goal goal) {
    comparisons.add(new Comparison(path, kiln, floor, Optional.of(goal)));
  }

  void compare(String path, Stats kiln, Stats floor) {
    comparisons.add(new Comparison(path, kiln, floor, Optional.empty()));
  }

  List<Comparison> comparisons() {
    return List.copyOf(comparisons);
  }

  ObjectNode section(String name) {
    return document.putObject(name);
  }

  /** The table of paths against their floors, then (with --json) the document on standard output. */
  void finish() {
    if (!comparisons.isEmpty()) {
      say("");
      say(String.format("%-40s %15s %15s %7s %12s  %-18s %s", "Kiln against its floor (medians)", "kiln", "floor", "ratio", "over", "goal", ""));
      ArrayNode table = document.putArray("comparisons");
      for (Comparison c : comparisons) {
        String over = c.kiln().unit().equals("ms") ? String.format("%+.1f ms", c.over()) : String.format("%+.0f %s", c.over(), c.kiln().unit());
        say(String.format("%-40s %9.1f %-5s %9.1f %-5s %7.2f %12s  %-18s %s", c.path(), c.kiln().median(), c.kiln().unit(), c.floor().median(),
            c.floor().unit(), c.ratio(), over, c.goal().map(Goal::describe).orElse("-"), c.met().map(m -> m ? "met" : "MISSED").orElse("")));
        ObjectNode row = table.addObject();
        row.put("path", c.path()).put("kiln", c.kiln().name()).put("floor", c.floor().name()).put("unit", c.kiln().unit())
            .put("kilnMedian", c.kiln().median()).put("floorMedian", c.floor().median()).put("ratio", c.ratio()).put("over", c.over());
        c.goal().ifPresent(g -> row.put("goal", g.describe()).put("met", g.met(c.kiln().median(), c.floor().median())));
      }
    }
    if (json) {
      try {
        System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(document));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException("the bench report cannot be written as JSON", e);
      }
    }
  }
}
