package dev.kiln.net.proxy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A real HTTP server standing in for a sandbox port. Any path echoes what arrived (method, path,
 * query, headers, body length and sha256) as "key value" lines; {@code /stream?mib=N} streams N MiB
 * of {@link #pattern} bytes and, after the first MiB, waits for the test to say it has them.
 */
final class EchoBackend implements AutoCloseable {
  static final int MIB = 1 << 20;

  private final HttpServer server;
  /** Counted down by the test once it holds the first MiB of a stream. */
  final CountDownLatch firstMibReceived = new CountDownLatch(1);
  /** Whether the client had the first MiB before the backend sent the rest. */
  final AtomicBoolean streamedBeforeEnd = new AtomicBoolean();

  private EchoBackend(HttpServer server) {
    this.server = server;
  }

  static EchoBackend start() throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    s.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
    EchoBackend b = new EchoBackend(s);
    s.createContext("/", b::handle);
    s.start();
    return b;
  }

  InetSocketAddress address() {
    return server.getAddress();
  }

  /** Byte {@code i} of a stream: not constant, so a misplaced chunk changes the digest. */
  static byte pattern(long i) {
    return (byte) ((i * 31 + (i >>> 11)) % 251);
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      if (ex.getRequestURI().getPath().endsWith("/stream")) stream(ex);
      else echo(ex);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void echo(HttpExchange ex) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append("method ").append(ex.getRequestMethod()).append('\n');
    b.append("path ").append(ex.getRequestURI().getRawPath()).append('\n');
    b.append("query ").append(ex.getRequestURI().getRawQuery()).append('\n');
    for (Map.Entry<String, List<String>> h : ex.getRequestHeaders().entrySet()) {
      for (String v : h.getValue()) b.append("header ").append(h.getKey().toLowerCase(Locale.ROOT)).append(": ").append(v).append('\n');
    }
    MessageDigest sha = sha256();
    long length = 0;
    try (InputStream in = ex.getRequestBody()) {
      byte[] buf = new byte[65536];
      for (int n; (n = in.read(buf)) >= 0; length += n) sha.update(buf, 0, n);
    }
    b.append("body-length ").append(length).append('\n');
    b.append("body-sha256 ").append(HexFormat.of().formatHex(sha.digest())).append('\n');
    byte[] out = b.toString().getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "text/plain");
    ex.sendResponseHeaders(200, out.length);
    ex.getResponseBody().write(out);
  }

  private void stream(HttpExchange ex) throws IOException, InterruptedException {
    long total = Long.parseLong(ex.getRequestURI().getQuery().replace("mib=", "")) * MIB;
    ex.sendResponseHeaders(200, total);
    OutputStream out = ex.getResponseBody();
    byte[] chunk = new byte[64 * 1024];
    for (long sent = 0; sent < total; ) {
      if (sent == MIB) streamedBeforeEnd.set(firstMibReceived.await(10, TimeUnit.SECONDS));
      for (int i = 0; i < chunk.length; i++) chunk[i] = pattern(sent + i);
      out.write(chunk);
      sent += chunk.length;
    }
    out.close();
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
