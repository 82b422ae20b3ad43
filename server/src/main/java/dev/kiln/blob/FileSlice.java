package dev.kiln.blob;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** {@code length} bytes of a file from {@code offset}, as a stream: the body of one upload part. */
final class FileSlice extends FilterInputStream {
  private long left;

  private FileSlice(InputStream in, long length) {
    super(in);
    this.left = length;
  }

  static InputStream open(Path file, long offset, long length) {
    try {
      FileChannel ch = FileChannel.open(file, StandardOpenOption.READ);
      ch.position(offset);
      return new FileSlice(Channels.newInputStream(ch), length);
    } catch (IOException e) {
      // The SDK's body supplier cannot throw a checked exception; it reports this as a failed request.
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  public int read() throws IOException {
    if (left <= 0) return -1;
    int b = super.read();
    if (b >= 0) left--;
    return b;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (left <= 0) return -1;
    int n = super.read(b, off, (int) Math.min(len, left));
    if (n > 0) left -= n;
    return n;
  }

  @Override
  public long skip(long n) throws IOException {
    long s = super.skip(Math.min(n, left));
    left -= s;
    return s;
  }

  @Override
  public int available() throws IOException {
    return (int) Math.min(super.available(), left);
  }

  @Override
  public boolean markSupported() {
    return false;
  }
}
