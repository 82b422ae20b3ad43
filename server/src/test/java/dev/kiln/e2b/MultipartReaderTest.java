package dev.kiln.e2b;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MultipartReaderTest {
  private static final String B = "----formdata-undici-0123456789";

  @Test
  void partsComeOutWholeWhateverTheReadsLookLike() throws IOException {
    Random random = new Random(42);
    byte[] first = new byte[300_000];
    random.nextBytes(first);
    // Content that almost holds the delimiter, across the reader's buffer edges.
    byte[] second = ("x\r\n--" + B.substring(0, B.length() - 1) + "y\r\n-").repeat(5000).getBytes(StandardCharsets.ISO_8859_1);
    byte[] body = body(part("/tmp/a.bin", first), part("b.txt", second));
    for (int chunk : new int[] {1, 7, 4096, 70_000}) {
      MultipartReader r = new MultipartReader(new Trickle(body, chunk), B);
      MultipartReader.Part a = r.next().orElseThrow();
      assertEquals(Optional.of("/tmp/a.bin"), a.filename());
      assertEquals(Optional.of("file"), a.name());
      assertArrayEquals(first, a.content().readAllBytes());
      assertArrayEquals(second, r.next().orElseThrow().content().readAllBytes());
      assertTrue(r.next().isEmpty());
    }
  }

  @Test
  void anUnreadPartIsSkippedAndAPreambleIgnored() throws IOException {
    byte[] body = ("preamble\r\n" + new String(body(part("a", "one".getBytes()), part("b", "two".getBytes())), StandardCharsets.ISO_8859_1))
        .getBytes(StandardCharsets.ISO_8859_1);
    MultipartReader r = new MultipartReader(new java.io.ByteArrayInputStream(body), B);
    r.next().orElseThrow();
    assertEquals("two", new String(r.next().orElseThrow().content().readAllBytes(), StandardCharsets.UTF_8));
  }

  @Test
  void aBodyCutShortIsAnErrorNotAShortFile() throws IOException {
    byte[] whole = body(part("a", new byte[10_000]));
    byte[] cut = java.util.Arrays.copyOf(whole, whole.length - 20);
    MultipartReader r = new MultipartReader(new java.io.ByteArrayInputStream(cut), B);
    InputStream content = r.next().orElseThrow().content();
    assertThrows(dev.kiln.error.KilnException.class, content::readAllBytes);
  }

  @Test
  void headersAreBounded() {
    byte[] body = ("--" + B + "\r\nX: " + "y".repeat(20_000) + "\r\n\r\nz\r\n--" + B + "--\r\n").getBytes(StandardCharsets.ISO_8859_1);
    assertThrows(dev.kiln.error.KilnException.class, () -> new MultipartReader(new java.io.ByteArrayInputStream(body), B).next());
  }

  @Test
  void theBoundaryComesFromTheContentType() {
    assertEquals(Optional.of(B), MultipartReader.boundaryOf("multipart/form-data; boundary=" + B));
    assertEquals(Optional.of("a b"), MultipartReader.boundaryOf("Multipart/Form-Data; charset=x; boundary=\"a b\""));
    assertEquals(Optional.empty(), MultipartReader.boundaryOf("multipart/form-data"));
    assertEquals(Optional.empty(), MultipartReader.boundaryOf("application/octet-stream; boundary=x"));
    assertEquals(Optional.empty(), MultipartReader.boundaryOf("multipart/form-data; boundary=" + "x".repeat(71)));
  }

  private static byte[] part(String filename, byte[] content) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("--" + B + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
        .getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(content);
    out.writeBytes("\r\n".getBytes(StandardCharsets.ISO_8859_1));
    return out.toByteArray();
  }

  private static byte[] body(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) out.writeBytes(p);
    out.writeBytes(("--" + B + "--\r\n").getBytes(StandardCharsets.ISO_8859_1));
    return out.toByteArray();
  }

  /** Hands out at most {@code chunk} bytes a read, as a network does. */
  private static final class Trickle extends FilterInputStream {
    private final int chunk;

    Trickle(byte[] bytes, int chunk) {
      super(new java.io.ByteArrayInputStream(bytes));
      this.chunk = chunk;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return super.read(b, off, Math.min(len, chunk));
    }
  }
}
