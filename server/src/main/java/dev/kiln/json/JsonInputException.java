package dev.kiln.json;

import java.util.List;

/**
 * JSON that could not be bound, described without naming a Java type: {@link #kind}, the path of
 * the field it happened at ("network.allowOut[1]"; empty for the document itself), and what was
 * wrong there ("must be a string, got a number"). {@link #describe} says it in a whole sentence.
 */
public final class JsonInputException extends Exception {
  /** What went wrong, for callers that answer each kind differently (an unknown field is a request error, not a JSON one). */
  public enum Kind {
    /** Not JSON at all: a syntax error, or bytes that are not UTF-8. */
    MALFORMED,
    /** Well-formed, but a value of the wrong JSON type (or the document itself is not an object). */
    WRONG_TYPE,
    /** A field the target does not have. */
    UNKNOWN_FIELD,
    /** The right type, but a value the target refuses (out of range, or rejected by its own checks). */
    BAD_VALUE,
    /** Refused by the target's own check (a record constructor), whose message names the field and the rule itself. */
    REFUSED,
    /** Beyond the parser's limits (nesting depth, number length). */
    TOO_LARGE
  }

  private final Kind kind;
  private final String path;
  private final String problem;
  private final List<String> known;

  JsonInputException(Kind kind, String path, String problem, List<String> known) {
    super(kind + " at '" + path + "': " + problem);
    this.kind = kind;
    this.path = path;
    this.problem = problem;
    this.known = List.copyOf(known);
  }

  public Kind kind() {
    return kind;
  }

  /** The field's path, dotted with [index] for array elements; empty for the document as a whole. */
  public String path() {
    return path;
  }

  /** The rest of the sentence after the field's name: "must be a string, got a number". */
  public String problem() {
    return problem;
  }

  /** For {@link Kind#UNKNOWN_FIELD}: the fields the object at that place does have, sorted. */
  public List<String> known() {
    return known;
  }

  /**
   * One sentence for a user.
   *
   * @param document what the JSON is, as the user knows it: "the body", "config file /etc/kiln.json"
   * @param noun     what its members are called: "field" (API) or "key" (config)
   * @param where    appended after a member's name to say where it is: "" for the API, " in /etc/kiln.json" for a config file
   */
  public String describe(String document, String noun, String where) {
    return switch (kind) {
      case MALFORMED -> document + " is not valid JSON: " + problem;
      case TOO_LARGE -> document + " is beyond the JSON limits: " + problem;
      case REFUSED -> document + ": " + problem;
      case UNKNOWN_FIELD -> {
        int dot = path.lastIndexOf('.');
        String under = dot < 0 ? "" : " under '" + path.substring(0, dot) + "'";
        yield "unknown " + noun + " '" + path + "'" + where + " (known " + noun + "s" + under + ": " + String.join(", ", known) + ")";
      }
      case WRONG_TYPE, BAD_VALUE -> path.isEmpty() ? document + " " + problem : noun + " '" + path + "'" + where + " " + problem;
    };
  }
}
