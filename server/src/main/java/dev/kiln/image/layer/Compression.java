package dev.kiln.image.layer;

import com.github.luben.zstd.ZstdInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * How a layer blob is compressed. Registries label layers by media type, but the bytes are what
 * gets applied, so the blob's own magic number decides.
 */
public enum Compression {
  NONE(new byte[0]),
  /** RFC 1952 member header: ID1 ID2. */
  GZIP(new byte[] {0x1f, (byte) 0x8b}),
  /** RFC 8878 frame magic 0xFD2FB528, little-endian. */
  ZSTD(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd});

  /** Bytes to peek at before calling {@link #detect}: the longest magic number. */
  public static final int MAGIC_LENGTH = 4;

  private final byte[] magic;

  Compression(byte[] magic) {
    this.magic = magic;
  }

  /** The compression whose magic number {@code firstBytes} starts with; NONE (a plain tar) otherwise. */
  public static Compression detect(byte[] firstBytes) {
    for (Compression c : values()) {
      if (c.magic.length > 0 && firstBytes.length >= c.magic.length
          && Arrays.equals(firstBytes, 0, c.magic.length, c.magic, 0, c.magic.length)) {
        return c;
      }
    }
    return NONE;
  }

  /** {@code in} decompressed; closing the result closes {@code in}. */
  public InputStream decompress(InputStream in) throws IOException {
    return switch (this) {
      case NONE -> in;
      // 64 KiB input buffer: the JDK's default of 512 bytes means a read call per few entries
      case GZIP -> new GZIPInputStream(in, 64 * 1024);
      case ZSTD -> new ZstdInputStream(in);
    };
  }
}
