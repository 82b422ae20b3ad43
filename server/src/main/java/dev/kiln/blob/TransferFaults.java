package dev.kiln.blob;

import java.io.IOException;
import java.io.InputStream;

/**
 * Test seam: faults a test cannot cause for real at the right moment (a file changed between two
 * parts of an upload, a connection cut in the middle of a body). Production uses {@link #NONE}.
 */
interface TransferFaults {
  TransferFaults NONE = new TransferFaults() {};

  /** Called after part {@code number} (from 1) of a multipart upload was accepted. */
  default void partSent(int number) throws IOException {}

  /** The body of a get as the store reads it. */
  default InputStream received(InputStream body) {
    return body;
  }
}
