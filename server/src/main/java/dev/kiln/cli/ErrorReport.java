package dev.kiln.cli;

import dev.kiln.sdk.KilnException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a failed command tells its user: one line in their terms and an exit code. No Java class or
 * exception name reaches the terminal: known failures are put into words, API field names become
 * the flags the user typed, and anything else is stripped of class names as a last defence.
 */
final class ErrorReport {
  /** A qualified class name, or a simple one ending in Exception or Error, with a trailing ": ". */
  private static final Pattern CLASS_NAME = Pattern.compile(
      "\\b(?:[a-z][a-z0-9_]*\\.)+[A-Z][A-Za-z0-9_$]*(?::\\s*)?|\\b[A-Z][A-Za-z0-9]*(?:Exception|Error)\\b(?::\\s*)?");

  record Report(String message, int exitCode) {}

  private ErrorReport() {}

  /** {@code flags}: the API fields the command set from options, so the message names the option. */
  static Report of(Throwable e, Map<String, String> flags) {
    return switch (e) {
      case UserError u -> new Report(u.getMessage(), u.exitCode());
      case KilnException k when k.getCause() instanceof InterruptedException -> new Report("interrupted", 130);
      case KilnException k when k.status() == 0 && k.code().equals("CLIENT_ERROR") -> new Report(clean(k.detail()), KilnCli.EXIT_UNAVAILABLE);
      case KilnException k -> new Report(withFlags(k.detail(), flags) + " (" + k.code() + ")", apiExit(k.code()));
      case java.io.UncheckedIOException u -> of(u.getCause(), flags);
      case NoSuchFileException f -> new Report("no such file or directory: " + f.getFile(), KilnCli.EXIT_API_ERROR);
      case AccessDeniedException f -> new Report("permission denied: " + f.getFile(), KilnCli.EXIT_API_ERROR);
      case FileAlreadyExistsException f -> new Report("already exists: " + f.getFile(), KilnCli.EXIT_API_ERROR);
      case NotDirectoryException f -> new Report("not a directory: " + f.getFile(), KilnCli.EXIT_API_ERROR);
      case DirectoryNotEmptyException f -> new Report("directory not empty: " + f.getFile(), KilnCli.EXIT_API_ERROR);
      case FileSystemException f -> new Report(f.getFile() + ": " + (f.getReason() == null ? "file system error" : f.getReason()), KilnCli.EXIT_API_ERROR);
      case InvalidPathException p -> new Report("invalid path '" + p.getInput() + "': " + p.getReason(), KilnCli.EXIT_USAGE);
      case InterruptedException i -> new Report("interrupted", 130);
      case IOException io -> new Report(io.getMessage() == null ? "input/output error" : clean(io.getMessage()), KilnCli.EXIT_API_ERROR);
      default -> new Report("internal error: " + (e.getMessage() == null ? "unexpected failure" : clean(e.getMessage()))
          + " (a bug in kiln; KILN_DEBUG=1 prints the details)", KilnCli.EXIT_API_ERROR);
    };
  }

  /** The guest could not find or run the command: the exit codes of a shell and of docker run. */
  private static int apiExit(String code) {
    return switch (code) {
      case "COMMAND_NOT_FOUND" -> 127;
      case "COMMAND_NOT_EXECUTABLE" -> 126;
      default -> KilnCli.EXIT_API_ERROR;
    };
  }

  static String clean(String message) {
    return CLASS_NAME.matcher(message).replaceAll("").strip();
  }

  /** "field 'timeoutSeconds' must be …" from the API reads "option --ttl must be …" at the terminal. */
  static String withFlags(String message, Map<String, String> flags) {
    if (flags.isEmpty()) return message;
    String names = flags.keySet().stream().map(Pattern::quote).reduce((a, b) -> a + "|" + b).orElseThrow();
    // One pass, so a flag spelled like its field (--vcpus) is not replaced again.
    Matcher m = Pattern.compile("(?i:field\\s+)?'(" + names + ")'|(?<![-\\w])(" + names + ")(?![\\w])").matcher(message);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String field = m.group(1) != null ? m.group(1) : m.group(2);
      String flag = flags.get(field);
      String replacement = m.group().regionMatches(true, 0, "field", 0, 5) && flag.startsWith("-") ? "option " + flag : flag;
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    return m.appendTail(out).toString();
  }
}
