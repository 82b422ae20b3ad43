package dev.kiln.system;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A client following a background process over its WebSocket as a program would: it keeps its
 * cursor (the end-of-replay cursor plus the output bytes since) and, when the server closes with
 * 1012 (the sandbox moved to another node), re-attaches at the same URL from that cursor.
 */
final class ProcessFollower implements AutoCloseable {
  private final HttpClient http;
  private final String base;
  private final String key;
  private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
  private final AtomicInteger reattached = new AtomicInteger();
  private final java.util.concurrent.CompletableFuture<String> exit = new java.util.concurrent.CompletableFuture<>();
  private long cursor;
  private volatile WebSocket socket;
  private volatile boolean closed;

  ProcessFollower(HttpClient http, String wsBase, String key, String sandboxId, long pid) throws Exception {
    this.http = http;
    this.base = wsBase + "/v1/sandboxes/" + sandboxId + "/processes/" + pid + "/ws";
    this.key = key;
    attach();
  }

  private void attach() throws Exception {
    long from;
    synchronized (this) {
      from = cursor;
    }
    socket = http.newWebSocketBuilder().header("Authorization", "Bearer " + key).buildAsync(URI.create(base + "?cursor=" + from), new WebSocket.Listener() {
      private final ByteArrayOutputStream message = new ByteArrayOutputStream();

      @Override
      public CompletionStage<?> onBinary(WebSocket w, ByteBuffer data, boolean last) {
        byte[] b = new byte[data.remaining()];
        data.get(b);
        message.writeBytes(b);
        if (last) {
          byte[] m = message.toByteArray();
          message.reset();
          synchronized (ProcessFollower.this) {
            if (m[0] == 1 || m[0] == 2) {
              stdout.write(m, 1, m.length - 1);
              cursor += m.length - 1;
            } else if (m[0] == 4) {
              cursor = ByteBuffer.wrap(m, 1, 8).getLong();
            } else if (m[0] == 3) {
              exit.complete(new String(m, 1, m.length - 1, StandardCharsets.UTF_8));
            }
          }
        }
        w.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket w, int status, String reason) {
        if (status == 1012 && !closed) {
          reattached.incrementAndGet();
          Thread.ofVirtual().start(() -> {
            try {
              attach();
            } catch (Exception e) {
              throw new IllegalStateException("re-attach failed", e);
            }
          });
        }
        return null;
      }
    }).get(60, TimeUnit.SECONDS);
  }

  synchronized String stdout() {
    return stdout.toString(StandardCharsets.UTF_8);
  }

  /** The exit message's JSON, once the process ended. */
  java.util.concurrent.CompletableFuture<String> exit() {
    return exit;
  }

  int reattached() {
    return reattached.get();
  }

  @Override
  public void close() {
    closed = true;
    if (socket != null) socket.abort();
  }
}
