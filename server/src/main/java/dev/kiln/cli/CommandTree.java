package dev.kiln.cli;

import java.util.Arrays;
import java.util.Set;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The part of the command tree picocli models for one command line. picocli reflects over every
 * command it is given (options, parameters, mixins, annotations) before parsing, and for the
 * whole tree that costs a CLI start more than the HTTP call most commands make. So a line that
 * names a top-level command gets the root and that command (with its own subcommands) only; a
 * line that names none, or {@code help} and {@code completion} (which walk the tree), gets it all.
 *
 * <p>The root's attributes come from the same {@code @Command} annotation either way, so the
 * usage, help and errors of a command do not depend on which tree it was parsed in
 * (CommandTreeTest compares them for every command).
 */
final class CommandTree {
  /** Commands that read the whole tree through their spec. */
  static final Set<String> WHOLE_TREE = Set.of("help", "completion");

  private CommandTree() {}

  static CommandLine of(Object root, String... args) {
    Command rootCommand = root.getClass().getAnnotation(Command.class);
    if (args.length == 0 || WHOLE_TREE.contains(args[0])) return new CommandLine(root);
    for (Class<?> sub : rootCommand.subcommands()) {
      Command c = sub.getAnnotation(Command.class);
      if (c != null && (c.name().equals(args[0]) || Arrays.asList(c.aliases()).contains(args[0]))) {
        CommandSpec spec = CommandSpec.wrapWithoutInspection(root).name(rootCommand.name()).version(rootCommand.version())
            .mixinStandardHelpOptions(rootCommand.mixinStandardHelpOptions()).scopeType(rootCommand.scope());
        spec.usageMessage().description(rootCommand.description()).footer(rootCommand.footer());
        return new CommandLine(spec).addSubcommand(c.name(), sub);
      }
    }
    return new CommandLine(root);
  }
}
