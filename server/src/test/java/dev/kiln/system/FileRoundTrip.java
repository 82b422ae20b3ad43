package dev.kiln.system;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;

/** A file streamed into a sandbox and back through the API, its sha256 compared on the way out and in the guest. */
final class FileRoundTrip {
  private FileRoundTrip() {}

  static void check(TestHost host, String id, String path, long size) throws Exception {
    MessageDigest up = MessageDigest.getInstance("SHA-256");
    // Pseudo-random content generated while streaming, so neither side holds the file at once.
    InputStream source = new DigestInputStream(new SeededStream(42, size), up);
    HttpRequest put = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=" + path))
        .header("Authorization", "Bearer " + host.key).PUT(HttpRequest.BodyPublishers.ofInputStream(() -> source)).build();
    HttpResponse<String> pr = host.http.send(put, HttpResponse.BodyHandlers.ofString());
    assertEquals(200, pr.statusCode(), pr.body());
    assertEquals(size, TestHost.JSON.readTree(pr.body()).path("bytesWritten").asLong());

    HttpRequest get = HttpRequest.newBuilder(URI.create(host.base + "/v1/sandboxes/" + id + "/files?path=" + path))
        .header("Authorization", "Bearer " + host.key).GET().build();
    HttpResponse<InputStream> gr = host.http.send(get, HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, gr.statusCode());
    MessageDigest down = MessageDigest.getInstance("SHA-256");
    long n;
    try (InputStream in = new DigestInputStream(gr.body(), down)) {
      n = in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    assertEquals(size, n);
    String sent = HexFormat.of().formatHex(up.digest());
    assertEquals(sent, HexFormat.of().formatHex(down.digest()));
    // and the guest holds the same bytes on its disk
    TestHost.Reply sum = host.call("POST", "/v1/sandboxes/" + id + "/exec", Map.of("command", "sha256sum " + path + " | cut -d' ' -f1",
        "timeoutSeconds", 600));
    assertEquals(sent, sum.json().path("stdout").asText().strip(), sum.raw());
  }

  /** A deterministic pseudo-random byte stream of fixed length. */
  private static final class SeededStream extends InputStream {
    private final java.util.Random r;
    private long left;

    SeededStream(long seed, long length) {
      this.r = new java.util.Random(seed);
      this.left = length;
    }

    @Override
    public int read() {
      if (left == 0) return -1;
      left--;
      return r.nextInt(256);
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left == 0) return -1;
      int n = (int) Math.min(len, left);
      byte[] chunk = new byte[n];
      r.nextBytes(chunk);
      System.arraycopy(chunk, 0, b, off, n);
      left -= n;
      return n;
    }
  }
}
