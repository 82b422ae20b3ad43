package dev.kiln.build;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A Dockerfile parsed: comment and continuation lines joined as Docker joins them, the escape
 * directive honoured, each instruction checked for what Kiln builds. Everything refused names its
 * line: an unknown instruction, a flag Kiln does not support, a heredoc, an instruction with no
 * arguments, a quote left open.
 */
public record Dockerfile(List<Instruction> instructions) {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** A Dockerfile is text a person writes; beyond this it is something else. */
  public static final int MAX_BYTES = 1 << 20;

  public Dockerfile {
    instructions = List.copyOf(instructions);
  }

  /** The stages, each its FROM and the instructions after it; ARGs before the first FROM are {@link #globalArgs}. */
  public List<List<Instruction>> stages() {
    List<List<Instruction>> stages = new ArrayList<>();
    for (Instruction i : instructions) {
      if (i instanceof Instruction.From) stages.add(new ArrayList<>());
      if (!stages.isEmpty()) stages.getLast().add(i);
    }
    return stages;
  }

  /** ARGs before the first FROM: they may be used in FROM lines only (and redeclared in a stage to be used there). */
  public List<Instruction.Arg> globalArgs() {
    List<Instruction.Arg> args = new ArrayList<>();
    for (Instruction i : instructions) {
      if (i instanceof Instruction.From) break;
      if (i instanceof Instruction.Arg a) args.add(a);
    }
    return args;
  }

  public static Dockerfile parse(String text) {
    if (text.length() > MAX_BYTES) throw new DockerfileException(0, "larger than " + (MAX_BYTES >> 10) + " KiB");
    String[] lines = text.split("\r?\n", -1);
    char escape = escapeDirective(lines);
    List<Instruction> out = new ArrayList<>();
    StringBuilder joined = null;
    int start = 0;
    for (int n = 0; n < lines.length; n++) {
      String raw = lines[n];
      String trimmed = raw.strip();
      if (trimmed.startsWith("#") || (trimmed.isEmpty() && joined != null)) continue; // comments, and blank lines inside a continuation
      if (trimmed.isEmpty()) continue;
      if (joined == null) {
        joined = new StringBuilder();
        start = n + 1;
      }
      String body = raw.stripTrailing();
      if (body.endsWith(String.valueOf(escape)) && !body.endsWith(escape + "" + escape)) {
        joined.append(body, 0, body.length() - 1).append(' ');
        continue;
      }
      joined.append(body);
      out.add(instruction(joined.toString().strip(), start, escape));
      joined = null;
    }
    if (joined != null) throw new DockerfileException(start, "the last instruction ends in a line continuation with nothing after it");
    if (out.isEmpty()) throw new DockerfileException(0, "it has no instructions; it must start with FROM");
    Instruction first = out.stream().filter(i -> !(i instanceof Instruction.Arg)).findFirst()
        .orElseThrow(() -> new DockerfileException(0, "it has no FROM"));
    if (!(first instanceof Instruction.From)) {
      throw new DockerfileException(first.line(), "the first instruction must be FROM (only ARG may come before it)");
    }
    return new Dockerfile(out);
  }

  /** {@code # escape=`} on the first lines (parser directives come before anything else). */
  private static char escapeDirective(String[] lines) {
    for (String l : lines) {
      String t = l.strip();
      if (!t.startsWith("#")) break;
      String d = t.substring(1).strip().toLowerCase(Locale.ROOT).replace(" ", "");
      if (d.startsWith("escape=")) {
        String v = d.substring("escape=".length());
        if (v.equals("`")) return '`';
        if (v.equals("\\")) return '\\';
        throw new DockerfileException(0, "the escape directive takes \\ or `, got '" + v + "'");
      }
    }
    return '\\';
  }

  private static Instruction instruction(String text, int line, char escape) {
    int space = indexOfBlank(text);
    String keyword = (space < 0 ? text : text.substring(0, space)).toUpperCase(Locale.ROOT);
    String args = space < 0 ? "" : text.substring(space).strip();
    if (args.contains("<<") && (keyword.equals("RUN") || keyword.equals("COPY") || keyword.equals("ADD")) && args.matches("(?s).*<<-?[\"']?[A-Za-z_].*")) {
      throw new DockerfileException(line, keyword + " with a heredoc (<<) is not supported; put the script in a file and COPY it");
    }
    if (args.isEmpty() && !keyword.isEmpty()) throw new DockerfileException(line, keyword + " needs arguments");
    return switch (keyword) {
      case "FROM" -> from(args, line);
      case "RUN" -> {
        Flags f = Flags.take(args, line, keyword, List.of());
        yield new Instruction.Run(line, command(f.rest(), line));
      }
      case "CMD" -> new Instruction.Cmd(line, command(args, line));
      case "ENTRYPOINT" -> new Instruction.Entrypoint(line, command(args, line));
      case "SHELL" -> {
        Optional<List<String>> argv = jsonArray(args, line);
        if (argv.isEmpty() || argv.get().isEmpty()) throw new DockerfileException(line, "SHELL takes a JSON array, e.g. SHELL [\"/bin/bash\", \"-c\"]");
        yield new Instruction.Shell(line, argv.get());
      }
      case "COPY", "ADD" -> copy(keyword, args, line);
      case "ENV" -> new Instruction.Env(line, assignments(args, line, "ENV", true));
      case "LABEL" -> new Instruction.Label(line, assignments(args, line, "LABEL", false));
      case "MAINTAINER" -> new Instruction.Label(line, List.of("maintainer=" + quote(args)));
      case "ARG" -> arg(args, line);
      case "WORKDIR" -> new Instruction.Workdir(line, args);
      case "USER" -> {
        checked(args, line);
        yield new Instruction.User(line, args);
      }
      case "EXPOSE" -> new Instruction.Expose(line, rawWords(args, line));
      case "VOLUME" -> new Instruction.Volume(line, args);
      case "HEALTHCHECK" -> throw new DockerfileException(line, "HEALTHCHECK is not supported; give the template a readiness check instead (readyCommand or readyPort)");
      case "STOPSIGNAL" -> throw new DockerfileException(line, "STOPSIGNAL is not supported: a sandbox's processes are stopped with its VM");
      case "ONBUILD" -> throw new DockerfileException(line, "ONBUILD is not supported");
      default -> throw new DockerfileException(line, "unknown instruction '" + (space < 0 ? text : text.substring(0, space)) + "'");
    };
  }

  private static int indexOfBlank(String s) {
    for (int i = 0; i < s.length(); i++) if (Character.isWhitespace(s.charAt(i))) return i;
    return -1;
  }

  private static Instruction from(String args, int line) {
    Flags f = Flags.take(args, line, "FROM", List.of("platform"));
    f.value("platform").ifPresent(p -> {
      if (!p.contains("$") && !p.equals("linux/amd64") && !p.equals("linux/x86_64")) {
        throw new DockerfileException(line, "FROM --platform=" + p + ": Kiln runs linux/amd64 only");
      }
    });
    List<String> words = rawWords(f.rest(), line);
    if (words.size() == 1) return new Instruction.From(line, words.get(0), Optional.empty());
    if (words.size() == 3 && words.get(1).equalsIgnoreCase("AS")) {
      String alias = words.get(2).toLowerCase(Locale.ROOT);
      if (!alias.matches("[a-z][a-z0-9._-]*")) throw new DockerfileException(line, "stage name '" + words.get(2) + "' must start with a letter");
      return new Instruction.From(line, words.get(0), Optional.of(alias));
    }
    throw new DockerfileException(line, "FROM takes an image and optionally AS name, got: " + args);
  }

  private static Instruction copy(String keyword, String args, int line) {
    Flags f = Flags.take(args, line, keyword, keyword.equals("COPY") ? List.of("from", "chown", "chmod") : List.of("chown", "chmod"));
    List<String> words = jsonArray(f.rest(), line).orElseGet(() -> rawWords(f.rest(), line));
    if (words.size() < 2) throw new DockerfileException(line, keyword + " needs at least one source and a destination");
    f.value("chmod").ifPresent(m -> {
      if (!m.matches("[0-7]{3,4}")) throw new DockerfileException(line, keyword + " --chmod takes an octal mode such as 0755, got '" + m + "'");
    });
    List<String> sources = words.subList(0, words.size() - 1);
    for (String s : sources) {
      if (keyword.equals("ADD") && s.matches("(?i)(https?|ftp|git)://.*|git@.*")) {
        throw new DockerfileException(line, "ADD of a URL (" + s + ") is not supported: a build fetches nothing the context does not hold; "
            + "download it in a RUN step or put it in the context");
      }
    }
    return new Instruction.Copy(line, keyword.equals("ADD"), sources, words.getLast(), f.value("from").map(v -> v.toLowerCase(Locale.ROOT)),
        f.value("chown"), f.value("chmod"));
  }

  private static Instruction arg(String args, int line) {
    List<String> words = rawWords(args, line);
    if (words.size() != 1) throw new DockerfileException(line, "ARG takes one name[=default], got: " + args);
    String w = words.get(0);
    int eq = w.indexOf('=');
    String name = eq < 0 ? w : w.substring(0, eq);
    if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) throw new DockerfileException(line, "ARG name '" + name + "' is not a variable name");
    return new Instruction.Arg(line, name, eq < 0 ? Optional.empty() : Optional.of(w.substring(eq + 1)));
  }

  /** ENV and LABEL: {@code k=v ...}, or (ENV) the legacy {@code k v} made into {@code k=v}. */
  private static List<String> assignments(String args, int line, String keyword, boolean legacyForm) {
    List<String> words = rawWords(args, line);
    if (!words.get(0).contains("=")) {
      if (!legacyForm || words.size() < 2) throw new DockerfileException(line, keyword + " takes name=value pairs, got: " + args);
      String rest = args.substring(args.indexOf(words.get(0)) + words.get(0).length()).strip();
      return List.of(words.get(0) + "=" + quote(rest));
    }
    for (String w : words) {
      int eq = w.indexOf('=');
      if (eq <= 0) throw new DockerfileException(line, keyword + " takes name=value pairs; '" + w + "' has no name=");
    }
    return words;
  }

  /** Raw text as one single-quoted word, so that expansion gives it back as it was. */
  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  /** Words as written (quotes and $ kept): the split of the text, not yet expanded. */
  private static List<String> rawWords(String args, int line) {
    checked(args, line);
    List<String> words = new ArrayList<>();
    StringBuilder w = new StringBuilder();
    char quote = 0;
    for (int i = 0; i < args.length(); i++) {
      char c = args.charAt(i);
      if (quote == 0 && Character.isWhitespace(c)) {
        if (!w.isEmpty()) words.add(w.toString());
        w.setLength(0);
        continue;
      }
      w.append(c);
      if (c == '\\' && i + 1 < args.length() && quote != '\'') w.append(args.charAt(++i));
      else if (quote == 0 && (c == '\'' || c == '"')) quote = c;
      else if (quote == c) quote = 0;
    }
    if (!w.isEmpty()) words.add(w.toString());
    return words;
  }

  /** Splits and expands with no variables, so a quote left open is refused at parse time with its line. */
  private static List<String> checked(String args, int line) {
    return ShellWords.split(args, name -> "", line);
  }

  private static Command command(String args, int line) {
    return jsonArray(args, line).<Command>map(Command.ExecForm::new).orElseGet(() -> new Command.ShellForm(args));
  }

  /** The exec form: a JSON array of strings; text that is not one is the shell form, as in Docker. */
  private static Optional<List<String>> jsonArray(String args, int line) {
    if (!args.startsWith("[")) return Optional.empty();
    JsonNode n;
    try {
      n = JSON.readTree(args);
    } catch (IOException e) {
      return Optional.empty();
    }
    if (n == null || !n.isArray()) return Optional.empty();
    List<String> out = new ArrayList<>();
    for (JsonNode e : n) {
      if (!e.isTextual()) throw new DockerfileException(line, "the JSON array must hold strings only, got " + e);
      out.add(e.asText());
    }
    return Optional.of(out);
  }

  /** Leading {@code --name=value} flags of an instruction; a flag not in {@code allowed} is refused by name. */
  private record Flags(Map<String, String> values, String rest) {
    static Flags take(String args, int line, String keyword, List<String> allowed) {
      Map<String, String> values = new LinkedHashMap<>();
      String rest = args;
      while (rest.startsWith("--")) {
        int end = indexOfBlank(rest);
        String flag = end < 0 ? rest : rest.substring(0, end);
        rest = end < 0 ? "" : rest.substring(end).strip();
        int eq = flag.indexOf('=');
        String name = (eq < 0 ? flag.substring(2) : flag.substring(2, eq)).toLowerCase(Locale.ROOT);
        if (!allowed.contains(name)) {
          throw new DockerfileException(line, keyword + " --" + name + " is not supported" + (allowed.isEmpty() ? "" : " (supported: --" + String.join(", --", allowed) + ")"));
        }
        if (eq < 0 || eq == flag.length() - 1) throw new DockerfileException(line, keyword + " --" + name + " needs a value (--" + name + "=…)");
        values.put(name, flag.substring(eq + 1));
      }
      if (rest.isEmpty()) throw new DockerfileException(line, keyword + " needs arguments after its flags");
      return new Flags(values, rest);
    }

    Optional<String> value(String name) {
      return Optional.ofNullable(values.get(name));
    }
  }
}
