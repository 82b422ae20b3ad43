package dev.kiln.build;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Docker's word rules for the instructions it expands variables in (FROM, COPY, ADD, ENV, ARG,
 * WORKDIR, USER, LABEL, EXPOSE): words split at unquoted blanks, single quotes literal, double
 * quotes expanding, backslash escaping the next character, and {@code $NAME}, {@code ${NAME}},
 * {@code ${NAME:-word}}, {@code ${NAME:+word}} (and the forms without the colon) expanded from the
 * build's variables. An unset variable is empty, as in Docker.
 */
final class ShellWords {
  private final String text;
  private final Function<String, String> lookup;
  private final int line;
  private int i;

  private ShellWords(String text, Function<String, String> lookup, int line) {
    this.text = text;
    this.lookup = lookup;
    this.line = line;
  }

  /** The words of {@code text}, expanded; {@code lookup} gives null for an unset variable. */
  static List<String> split(String text, Function<String, String> lookup, int line) {
    return new ShellWords(text, lookup, line).words();
  }

  /** {@code text} as one word: expanded, quotes removed, blanks kept. */
  static String expand(String text, Function<String, String> lookup, int line) {
    ShellWords w = new ShellWords(text, lookup, line);
    StringBuilder out = new StringBuilder();
    while (w.i < text.length()) w.part(out, true);
    return out.toString();
  }

  private List<String> words() {
    List<String> words = new ArrayList<>();
    while (true) {
      while (i < text.length() && Character.isWhitespace(text.charAt(i))) i++;
      if (i >= text.length()) return words;
      StringBuilder w = new StringBuilder();
      while (i < text.length() && !Character.isWhitespace(text.charAt(i))) part(w, false);
      words.add(w.toString());
    }
  }

  /** One piece of a word: a quoted run, an escape, a variable or a plain character. */
  private void part(StringBuilder out, boolean keepBlanks) {
    char c = text.charAt(i);
    switch (c) {
      case '\'' -> {
        int end = text.indexOf('\'', i + 1);
        if (end < 0) throw new DockerfileException(line, "a single quote is not closed: " + text);
        out.append(text, i + 1, end);
        i = end + 1;
      }
      case '"' -> {
        i++;
        while (true) {
          if (i >= text.length()) throw new DockerfileException(line, "a double quote is not closed: " + text);
          char d = text.charAt(i);
          if (d == '"') {
            i++;
            return;
          }
          if (d == '\\' && i + 1 < text.length() && "\"\\$".indexOf(text.charAt(i + 1)) >= 0) {
            out.append(text.charAt(i + 1));
            i += 2;
          } else if (d == '$') {
            variable(out);
          } else {
            out.append(d);
            i++;
          }
        }
      }
      case '\\' -> {
        if (i + 1 < text.length()) out.append(text.charAt(i + 1));
        i += 2;
      }
      case '$' -> variable(out);
      default -> {
        out.append(c);
        i++;
      }
    }
  }

  private void variable(StringBuilder out) {
    i++; // the $
    if (i >= text.length()) {
      out.append('$');
      return;
    }
    if (text.charAt(i) == '{') {
      int end = text.indexOf('}', i);
      if (end < 0) throw new DockerfileException(line, "a ${ is not closed: " + text);
      String inner = text.substring(i + 1, end);
      i = end + 1;
      out.append(braced(inner));
      return;
    }
    int start = i;
    while (i < text.length() && (Character.isLetterOrDigit(text.charAt(i)) || text.charAt(i) == '_')) i++;
    if (start == i) {
      out.append('$');
      return;
    }
    String v = lookup.apply(text.substring(start, i));
    if (v != null) out.append(v);
  }

  private String braced(String inner) {
    int op = 0;
    while (op < inner.length() && (Character.isLetterOrDigit(inner.charAt(op)) || inner.charAt(op) == '_')) op++;
    String name = inner.substring(0, op);
    if (name.isEmpty()) throw new DockerfileException(line, "bad substitution ${" + inner + "}");
    String value = lookup.apply(name);
    if (op == inner.length()) return value == null ? "" : value;
    String rest = inner.substring(op);
    boolean colon = rest.startsWith(":");
    if (colon) rest = rest.substring(1);
    if (rest.isEmpty() || (rest.charAt(0) != '-' && rest.charAt(0) != '+')) {
      throw new DockerfileException(line, "bad substitution ${" + inner + "}: only ${NAME}, ${NAME:-word} and ${NAME:+word} are supported");
    }
    String word = expand(rest.substring(1), lookup, line);
    boolean set = colon ? value != null && !value.isEmpty() : value != null;
    return rest.charAt(0) == '-' ? (set ? value : word) : (set ? word : "");
  }
}
