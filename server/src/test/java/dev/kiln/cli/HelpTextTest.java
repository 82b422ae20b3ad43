package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/** The CLI's command tree as `--help` shows it: every command, option and argument explained, every example valid. */
class HelpTextTest {
  static final Pattern JAVA_NAME = Pattern.compile("\\b(java|javax|jdk|sun|dev\\.kiln|com\\.fasterxml|org\\.eclipse|picocli)\\.[a-z]|\\b\\w+Exception\\b");

  static List<CommandLine> all(CommandLine c) {
    List<CommandLine> out = new ArrayList<>(List.of(c));
    for (CommandLine sub : c.getSubcommands().values()) {
      if (!out.contains(sub)) out.addAll(all(sub));
    }
    return out.stream().distinct().toList();
  }

  /** The lines of a command's help footer that are examples: "  kiln …". */
  static List<String> examples(CommandLine c) {
    return List.of(c.getCommandSpec().usageMessage().footer()).stream().map(String::strip).filter(l -> l.startsWith("kiln ")).toList();
  }

  @Test
  void everyCommandOptionAndArgumentHasADescription() {
    List<String> missing = new ArrayList<>();
    for (CommandLine c : all(KilnCli.commandLine())) {
      CommandSpec spec = c.getCommandSpec();
      if (spec.usageMessage().description().length == 0) missing.add(spec.qualifiedName() + " (the command)");
      for (OptionSpec o : spec.options()) {
        if (o.description().length == 0 || o.description()[0].isBlank()) missing.add(spec.qualifiedName() + " " + o.longestName());
      }
      for (PositionalParamSpec p : spec.positionalParameters()) {
        if (p.description().length == 0 || p.description()[0].isBlank()) missing.add(spec.qualifiedName() + " " + p.paramLabel());
      }
    }
    assertEquals(List.of(), missing, "--help entries without a description");
  }

  @Test
  void helpNamesNoJavaClass() {
    for (CommandLine c : all(KilnCli.commandLine())) {
      String help = c.getUsageMessage();
      assertFalse(JAVA_NAME.matcher(help).find(), c.getCommandSpec().qualifiedName() + " --help:\n" + help);
    }
  }

  @Test
  void everyHelpExampleParses() {
    int seen = 0;
    for (CommandLine c : all(KilnCli.commandLine())) {
      for (String example : examples(c)) {
        seen++;
        List<String> args = Shell.words(example.substring("kiln ".length()).replaceAll("\\s+\\(.*\\)$", ""));
        CommandLine fresh = KilnCli.commandLine();
        CommandLine.ParseResult r = fresh.parseArgs(args.toArray(String[]::new));
        assertTrue(r.hasSubcommand(), example);
      }
    }
    assertTrue(seen >= 20, "examples found: " + seen);
  }

  @Test
  void errorsAreWordsNotClassNames() {
    ErrorReport.Report missing = ErrorReport.of(new java.nio.file.NoSuchFileException("/tmp/nope"), java.util.Map.of());
    assertEquals("no such file or directory: /tmp/nope", missing.message());
    ErrorReport.Report bug = ErrorReport.of(new IllegalStateException("java.lang.NullPointerException: x is null"), java.util.Map.of());
    assertFalse(JAVA_NAME.matcher(bug.message()).find(), bug.message());
    ErrorReport.Report api = ErrorReport.of(new dev.kiln.sdk.KilnException(400, "INVALID_REQUEST", "field 'timeoutSeconds' must be at least 0, got -5"),
        SandboxCommand.CreateFlags.FLAGS);
    assertEquals("option --ttl must be at least 0, got -5 (INVALID_REQUEST)", api.message());
    assertEquals("option --vcpus must be 1..2, got 0; --vcpus is too small (X)",
        ErrorReport.of(new dev.kiln.sdk.KilnException(400, "X", "field 'vcpus' must be 1..2, got 0; vcpus is too small"), SandboxCommand.CreateFlags.FLAGS).message());
    assertEquals(127, ErrorReport.of(new dev.kiln.sdk.KilnException(400, "COMMAND_NOT_FOUND", "no such command"), java.util.Map.of()).exitCode());
    assertEquals(126, ErrorReport.of(new dev.kiln.sdk.KilnException(400, "COMMAND_NOT_EXECUTABLE", "not executable"), java.util.Map.of()).exitCode());
    ErrorReport.Report refused = ErrorReport.of(new dev.kiln.sdk.KilnException("cannot reach the Kiln daemon at http://127.0.0.1:1: connection refused",
        new java.net.ConnectException()), java.util.Map.of());
    assertEquals(new ErrorReport.Report("cannot reach the Kiln daemon at http://127.0.0.1:1: connection refused", KilnCli.EXIT_UNAVAILABLE), refused);
    assertEquals(130, ErrorReport.of(new dev.kiln.sdk.KilnException("interrupted", new InterruptedException()), java.util.Map.of()).exitCode());
  }

  @Test
  void consoleTextKeepsLinesAndDropsEscapes() {
    byte[] out = ConsoleText.printable("boot\r\nok\rspoof \u001b[2J\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    assertEquals("boot\nok\nspoof ?[2J\n", new String(out, java.nio.charset.StandardCharsets.UTF_8));
  }
}
