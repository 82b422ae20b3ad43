package dev.kiln.vmm;

import java.io.IOException;
import java.io.InputStream;

/** Where a live migration's stream goes: to the host that {@link VmmBackend#receive}s it. */
public interface MigrationSink {
  /**
   * Sends the whole stream (read it to its end) and returns once the other side has loaded it. An
   * exception cancels the migration: the VM runs on where it was.
   */
  void send(InputStream stream) throws IOException, InterruptedException;

  /** Progress while RAM is copied: bytes sent so far, and what QEMU thinks is left (dirty pages included). */
  default void progress(long sentBytes, long remainingBytes) {}
}
