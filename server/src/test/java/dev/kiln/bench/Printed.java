package dev.kiln.bench;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** What a part of the bench prints to standard output, kept (and still shown) while {@code body} runs. */
final class Printed {
  @FunctionalInterface
  interface Body {
    void run() throws Exception;
  }

  private Printed() {}

  static synchronized String by(Body body) throws Exception {
    PrintStream out = System.out;
    ByteArrayOutputStream kept = new ByteArrayOutputStream();
    System.setOut(new PrintStream(new OutputStream() {
      @Override
      public void write(int b) {
        kept.write(b);
        out.write(b);
      }

      @Override
      public void write(byte[] b, int off, int len) {
        kept.write(b, off, len);
        out.write(b, off, len);
      }
    }, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.out.flush();
      System.setOut(out);
    }
    return kept.toString(StandardCharsets.UTF_8);
  }
}
