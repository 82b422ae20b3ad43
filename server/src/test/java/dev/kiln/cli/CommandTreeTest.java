package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The partial tree a command line gets answers exactly as the whole tree would. */
class CommandTreeTest {
  /** Every command path of the whole tree: [template], [template, list], … */
  private static List<List<String>> paths(CommandLine cli, List<String> prefix) {
    List<List<String>> out = new ArrayList<>();
    cli.getSubcommands().forEach((name, sub) -> {
      if (!sub.getCommandName().equals(name)) return; // an alias
      List<String> p = new ArrayList<>(prefix);
      p.add(name);
      out.add(p);
      out.addAll(paths(sub, p));
    });
    return out;
  }

  private record Run(int code, String out, String err) {}

  private static Run run(Function<String[], CommandLine> tree, List<String> args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
    try {
      String[] a = args.toArray(String[]::new);
      int code = tree.apply(a).execute(a);
      return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  private static String parseError(CommandLine cli, String[] args) {
    try {
      cli.parseArgs(args);
      return "parsed";
    } catch (CommandLine.ParameterException e) {
      return e.getMessage() + " / " + e.getCommandLine().getCommandSpec().qualifiedName();
    }
  }

  @Test
  void everyCommandHasTheSameHelpAndErrorsInItsOwnTreeAsInTheWholeTree() {
    List<List<String>> paths = paths(new CommandLine(new KilnCli()), List.of());
    assertTrue(paths.size() > 15, "found the commands: " + paths);
    for (List<String> path : paths) {
      if (CommandTree.WHOLE_TREE.contains(path.getFirst())) continue;
      List<String> help = new ArrayList<>(path);
      help.add("--help");
      assertEquals(run(a -> new CommandLine(new KilnCli()), help), run(a -> CommandTree.of(new KilnCli(), a), help), "kiln " + String.join(" ", help));
      // Errors through parseArgs only: nothing is ever executed.
      List<String> bad = new ArrayList<>(path);
      bad.add("--no-such-option");
      String[] a = bad.toArray(String[]::new);
      assertEquals(parseError(new CommandLine(new KilnCli()), a), parseError(CommandTree.of(new KilnCli(), a), a), "kiln " + String.join(" ", bad));
    }
  }

  @Test
  void aCommandLineGetsOnlyTheTopLevelCommandItNames() {
    CommandLine cli = CommandTree.of(new KilnCli(), "template", "list");
    assertEquals(List.of("template"), List.copyOf(cli.getSubcommands().keySet()));
    assertTrue(cli.getSubcommands().get("template").getSubcommands().containsKey("list"));
  }

  @Test
  void helpCompletionAndUnknownCommandsGetTheWholeTree() {
    int whole = new CommandLine(new KilnCli()).getSubcommands().size();
    assertEquals(whole, CommandTree.of(new KilnCli(), "help", "template").getSubcommands().size());
    assertEquals(whole, CommandTree.of(new KilnCli(), "completion").getSubcommands().size());
    assertEquals(whole, CommandTree.of(new KilnCli(), "templat", "list").getSubcommands().size());
    assertEquals(whole, CommandTree.of(new KilnCli()).getSubcommands().size());
    String[] typo = {"templat"};
    assertEquals(parseError(new CommandLine(new KilnCli()), typo), parseError(CommandTree.of(new KilnCli(), typo), typo));
  }
}
