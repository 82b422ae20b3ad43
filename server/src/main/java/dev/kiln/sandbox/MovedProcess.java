package dev.kiln.sandbox;

import java.util.List;

/**
 * A background process as a live migration carries it to the sandbox's new node: what the API
 * shows of it, and its kept output with the offsets clients hold cursors into, so that a client
 * re-attaching there with its cursor gets exactly what followed. Its exit, if it ended while the
 * output was held, comes from the guest on the new node.
 */
public record MovedProcess(long pid, List<String> argv, boolean pty, boolean login, boolean adopted, long keepAliveMillis,
    long startedAtMillis, long outputStart, long outputEnd, List<Output> output) {
  /** Kept output from {@code offset} on, of one stream. */
  public record Output(long offset, boolean stderr, byte[] data) {}

  public MovedProcess {
    argv = List.copyOf(argv);
    output = List.copyOf(output);
    if (outputStart < 0 || outputEnd < outputStart) throw new IllegalArgumentException("output offsets " + outputStart + ".." + outputEnd);
    long at = outputStart;
    for (Output o : output) {
      if (o.offset() != at) throw new IllegalArgumentException("kept output is not contiguous at offset " + at);
      at += o.data().length;
    }
    if (at != outputEnd) throw new IllegalArgumentException("kept output ends at " + at + ", not " + outputEnd);
  }
}
