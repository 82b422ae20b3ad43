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

  /** {@code -o table|json|field=NAME}, the same on every command that prints a result. */
  static final class Options {
    @Option(names = {"-o", "--output"}, paramLabel = "table|json|field=NAME", defaultValue = "table",
        description = "print a table (default), JSON, or one field's value (dotted for nested, e.g. field=network.accessToken) for scripts")
    String format;

    void print(JsonNode value, List<String> columns) throws Exception {
      if (format.startsWith("field=")) {
        printField(value, format.substring("field=".length()));
        return;
      }
      Output.print(parse(format, "table|json|field=NAME"), value, columns);
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

  /** One field of the result (of each, for a list), raw: what $(…) in a script wants. */
  static void printField(JsonNode value, String path) {
    List<JsonNode> rows = new ArrayList<>();
    if (value.isArray()) value.forEach(rows::add);
    else rows.add(value);
    for (JsonNode r : rows) {
      JsonNode v = at(r, path);
      if (v.isMissingNode()) throw new UserError("the result has no field '" + path + "'", KilnCli.EXIT_USAGE);
      System.out.println(v.isNull() ? "" : v.isValueNode() ? v.asText() : v.toString());
    }
  }

  private static JsonNode at(JsonNode r, String path) {
    JsonNode v = r;
    for (String part : path.split("\\.")) v = v.path(part);
    return v;
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
    JsonNode v = at(r, col);
    return v.isMissingNode() || v.isNull() ? "-" : v.isValueNode() ? ConsoleText.oneLine(v.asText()) : v.toString();
  }
}
