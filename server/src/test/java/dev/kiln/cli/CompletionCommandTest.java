package dev.kiln.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CompletionCommandTest {
  @Test
  void printsABashCompletionScriptCoveringEverySubcommand() {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = new CommandLine(new KilnCli()).execute("completion");
    } finally {
      System.setOut(original);
    }
    String script = captured.toString(StandardCharsets.UTF_8);
    assertEquals(0, code);
    assertTrue(script.contains("complete -F"), "a bash completion function is registered");
    for (String sub : new String[] {"daemon", "template", "sandbox", "exec", "shell", "files", "completion"}) {
      assertTrue(script.contains(sub), "the script completes '" + sub + "'");
    }
  }
}
