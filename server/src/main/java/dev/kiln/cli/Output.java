package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Prints API results as JSON or as an aligned table. */
final class Output {
  enum Format { table, json }

  private static final ObjectMapper JSON = new ObjectMapper();

  private Output() {}

  /** {@code -o table|json}, the same on every command that prints a result. */
  static final class Options {
    @Option(names = {"-o", "--output"}, paramLabel = "table|json", defaultValue = "table", description = "print a table (default) or JSON")
    Format format;

    void print(JsonNode value, List<String> columns) throws Exception {
      Output.print(format, value, columns);
    }

    /** For commands with a third format of their own ("id"): the others by name, or a usage error. */
    static Format parse(String value, String allowed) {
      try {
        return Format.valueOf(value);
      } catch (IllegalArgumentException e) {
        throw new UserError("-o must be one of " + allowed + ", got '" + value + "'", KilnCli.EXIT_USAGE);
      }
    }
  }

  static void print(Format f, JsonNode value, List<String> columns) throws Exception {
    if (f == Format.json) {
      System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value));
      return;
    }
    List<JsonNode> rows = new ArrayList<>();
    if (value.isArray()) value.forEach(rows::add);
    else rows.add(value);
    int[] width = new int[columns.size()];
    for (int i = 0; i < columns.size(); i++) {
      width[i] = columns.get(i).length();
      for (JsonNode r : rows) width[i] = Math.max(width[i], cell(r, columns.get(i)).length());
    }
    StringBuilder head = new StringBuilder();
    for (int i = 0; i < columns.size(); i++) head.append(String.format("%-" + (width[i] + 2) + "s", columns.get(i).toUpperCase()));
    System.out.println(head.toString().strip());
    for (JsonNode r : rows) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < columns.size(); i++) line.append(String.format("%-" + (width[i] + 2) + "s", cell(r, columns.get(i))));
      System.out.println(line.toString().strip());
    }
  }

  /** A dotted column ("network.address") reads a nested field. */
  private static String cell(JsonNode r, String col) {
    JsonNode v = r;
    for (String part : col.split("\\.")) v = v.path(part);
    return v.isMissingNode() || v.isNull() ? "-" : v.isValueNode() ? ConsoleText.oneLine(v.asText()) : v.toString();
  }
}
