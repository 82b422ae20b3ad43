package dev.kiln.build;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * .dockerignore as Docker reads it: one pattern a line, {@code #} comments, {@code !} to take an
 * earlier exclusion back, the last matching pattern deciding; {@code *} and {@code ?} within a path
 * segment, {@code **} across any number of them; a pattern that matches a directory excludes
 * everything under it. Paths are relative to the context, '/'-separated.
 */
public final class DockerIgnore {
  private record Rule(Pattern pattern, boolean exclude) {}

  public static final DockerIgnore NONE = new DockerIgnore(List.of());
  private final List<Rule> rules;

  private DockerIgnore(List<Rule> rules) {
    this.rules = List.copyOf(rules);
  }

  public static DockerIgnore parse(String text) {
    List<Rule> rules = new ArrayList<>();
    for (String line : text.split("\r?\n")) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) continue;
      boolean exclude = !l.startsWith("!");
      if (!exclude) l = l.substring(1).strip();
      l = clean(l);
      if (l.isEmpty()) continue;
      rules.add(new Rule(Pattern.compile(regex(l)), exclude));
    }
    return new DockerIgnore(rules);
  }

  /** Whether the context path is left out of the build: it, or a directory above it, is excluded by the last rule that matches. */
  public boolean excludes(String path) {
    if (rules.isEmpty()) return false;
    String p = clean(path);
    if (p.isEmpty()) return false;
    boolean excluded = false;
    for (Rule r : rules) {
      if (matchesOrUnder(r.pattern(), p)) excluded = r.exclude();
    }
    return excluded;
  }

  private static boolean matchesOrUnder(Pattern pattern, String path) {
    if (pattern.matcher(path).matches()) return true;
    for (int i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      if (pattern.matcher(path.substring(0, i)).matches()) return true;
    }
    return false;
  }

  /** Leading "/" and "./", repeated and trailing slashes dropped, as Go's filepath.Clean would. */
  static String clean(String p) {
    List<String> parts = new ArrayList<>();
    for (String s : p.split("/")) {
      if (s.isEmpty() || s.equals(".")) continue;
      if (s.equals("..")) {
        if (!parts.isEmpty()) parts.removeLast();
        continue;
      }
      parts.add(s);
    }
    return String.join("/", parts);
  }

  /** A glob as a regular expression over a whole '/'-separated path. */
  static String regex(String glob) {
    StringBuilder r = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        i++;
        if (i + 1 < glob.length() && glob.charAt(i + 1) == '/') {
          i++;
          r.append("(?:.*/)?");
        } else {
          r.append(".*");
        }
      } else if (c == '*') {
        r.append("[^/]*");
      } else if (c == '?') {
        r.append("[^/]");
      } else if (c == '[') {
        int end = glob.indexOf(']', i + 1);
        if (end < 0) {
          r.append("\\[");
        } else {
          String set = glob.substring(i + 1, end);
          if (set.startsWith("!") || set.startsWith("^")) set = "^" + set.substring(1);
          r.append('[').append(set.replace("\\", "\\\\")).append(']');
          i = end;
        }
      } else if (c == '\\' && i + 1 < glob.length()) {
        r.append(Pattern.quote(String.valueOf(glob.charAt(++i))));
      } else {
        r.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return r.toString();
  }
}
