package dev.kiln.build;

import java.util.ArrayList;
import java.util.List;

/**
 * A RUN, CMD or ENTRYPOINT as written: the shell form (run by the stage's SHELL) or the exec form
 * (argv as given, no shell).
 */
public sealed interface Command {
  /** The shell form: one string the shell parses. */
  record ShellForm(String text) implements Command {}

  /** The exec form: a JSON array, the program and its arguments. */
  record ExecForm(List<String> argv) implements Command {
    public ExecForm {
      argv = List.copyOf(argv);
    }
  }

  /** The argv to run: the shell form prefixed with {@code shell}. */
  default List<String> argv(List<String> shell) {
    return switch (this) {
      case ExecForm e -> e.argv();
      case ShellForm s -> {
        List<String> a = new ArrayList<>(shell);
        a.add(s.text());
        yield List.copyOf(a);
      }
    };
  }

  /** How it reads in a log and in a cache key. */
  default String canonical() {
    return switch (this) {
      case ExecForm e -> "exec" + e.argv();
      case ShellForm s -> "shell " + s.text();
    };
  }
}
