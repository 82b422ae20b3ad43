package dev.kiln.e2b;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** A gzip request body (Content-Encoding: gzip) inflated as it is read; one that is not gzip, or ends early, is the request's fault (400). */
final class GzipBody extends FilterInputStream {
  private GzipBody(InputStream inflating) {
    super(inflating);
  }

  static InputStream of(InputStream raw) throws IOException {
    try {
      return new GzipBody(new GZIPInputStream(raw, 64 * 1024));
    } catch (ZipException | EOFException e) {
      throw malformed(e);
    }
  }

  @Override
  public int read() throws IOException {
    try {
      return super.read();
    } catch (ZipException | EOFException e) {
      throw malformed(e);
    }
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    try {
      return super.read(b, off, len);
    } catch (ZipException | EOFException e) {
      throw malformed(e);
    }
  }

  private static KilnException malformed(IOException e) {
    return new KilnException(ErrorCode.INVALID_REQUEST, "the body is declared gzip (Content-Encoding) but is not: " + e.getMessage());
  }
}
