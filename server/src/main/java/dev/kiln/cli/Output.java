package dev.kiln.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;

/** Prints API results as JSON or as an aligned table. */
final class Output {
  enum Format { table, json }

  private static final ObjectMapper JSON = new ObjectMapper();

  private Output() {}

  static void print(Format f, JsonNode value, List<String> columns) throws Exception {
    if (f == Format.json) {
      System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(value));
      return;
    }
    List<JsonNode> rows = value.isArray() ? iterable(value) : List.of(value);
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

  private static String cell(JsonNode r, String col) {
    JsonNode v = r.path(col);
    return v.isMissingNode() || v.isNull() ? "-" : v.isValueNode() ? v.asText() : v.toString();
  }

  private static List<JsonNode> iterable(JsonNode array) {
    java.util.ArrayList<JsonNode> out = new java.util.ArrayList<>();
    array.forEach(out::add);
    return out;
  }
}
