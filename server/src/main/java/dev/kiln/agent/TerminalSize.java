package dev.kiln.agent;

/** A terminal's size in character cells, as TIOCSWINSZ takes it. */
public record TerminalSize(int rows, int cols) {
  public TerminalSize {
    if (rows < 1 || rows > 0xFFFF || cols < 1 || cols > 0xFFFF) {
      throw new IllegalArgumentException("a terminal is 1..65535 rows and columns, got " + rows + "x" + cols);
    }
  }
}
