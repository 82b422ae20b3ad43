package dev.kiln.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * This process's controlling terminal, through stty(1): raw mode for the length of a remote
 * terminal session (keys go through unbuffered and unechoed, Ctrl-C included), its size, and
 * SIGWINCH. The JDK has no terminal API; stty is on every host that has a terminal.
 */
final class LocalTerminal implements AutoCloseable {
  private static final Path TTY = Path.of("/dev/tty");
  private final String saved;

  private LocalTerminal(String saved) {
    this.saved = saved;
  }

  /** True when stdin is a terminal this process can put in raw mode. */
  static boolean available() {
    return System.console() != null && Files.isReadable(TTY);
  }

  /** Puts the terminal in raw mode until {@link #close}. */
  static LocalTerminal raw() throws IOException, InterruptedException {
    String saved = stty("-g").strip();
    stty("raw", "-echo");
    return new LocalTerminal(saved);
  }

  /** Rows and columns; 24x80 when they cannot be read. */
  static int[] size() {
    try {
      String[] rc = stty("size").strip().split("\\s+");
      return new int[] {Math.max(1, Integer.parseInt(rc[0])), Math.max(1, Integer.parseInt(rc[1]))};
    } catch (IOException | InterruptedException | RuntimeException e) {
      return new int[] {24, 80};
    }
  }

  /** SIGWINCH: the JDK has no public API for it; sun.misc.Signal (jdk.unsupported) is the one way. */
  @SuppressWarnings("removal")
  static void onResize(Runnable r) {
    try {
      sun.misc.Signal.handle(new sun.misc.Signal("WINCH"), sig -> r.run());
    } catch (IllegalArgumentException e) {
      // no SIGWINCH on this platform: the size stays as it was at the start
    }
  }

  @Override
  public void close() throws IOException, InterruptedException {
    stty(saved);
  }

  /** Runs stty on the controlling terminal; returns what it printed. */
  private static String stty(String... args) throws IOException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("stty"));
    argv.addAll(List.of(args));
    Process p = new ProcessBuilder(argv).redirectInput(TTY.toFile()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (p.waitFor() != 0) throw new IOException("stty " + String.join(" ", args) + " failed on this terminal");
    return out;
  }
}
