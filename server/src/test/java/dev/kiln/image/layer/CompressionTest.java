package dev.kiln.image.layer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class CompressionTest {
  @Test
  void detectsByMagicNumber() {
    assertEquals(Compression.GZIP, Compression.detect(new byte[] {0x1f, (byte) 0x8b, 8, 0}));
    assertEquals(Compression.ZSTD, Compression.detect(new byte[] {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd}));
    assertEquals(Compression.NONE, Compression.detect("etc/".getBytes(StandardCharsets.US_ASCII)));
    assertEquals(Compression.NONE, Compression.detect(new byte[] {0x28, (byte) 0xb5, 0x2f}), "a zstd magic cut short");
    assertEquals(Compression.NONE, Compression.detect(new byte[0]));
  }

  @Test
  void decompressesWhatItDetected() throws IOException {
    var layer = new TestLayer().file("f", "same bytes every way");
    byte[] tar = layer.tar();
    for (byte[] blob : new byte[][] {tar, layer.gzip(), layer.zstd()}) {
      byte[] head = Arrays.copyOf(blob, Compression.MAGIC_LENGTH);
      try (InputStream in = Compression.detect(head).decompress(new ByteArrayInputStream(blob))) {
        assertArrayEquals(tar, in.readAllBytes(), Compression.detect(head).name());
      }
    }
  }
}
