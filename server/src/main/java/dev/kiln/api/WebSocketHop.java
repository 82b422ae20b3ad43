package dev.kiln.api;

import dev.kiln.cluster.NodeCredential;
import dev.kiln.cluster.NodeRoute;
import java.net.URI;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.StatusCode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A WebSocket through a control instance: the client's socket and one to the node, joined message
 * by message. Each side reads its next message only once the other has sent the last one, so a
 * slow reader slows the writer instead of filling the control instance's memory.
 */
final class WebSocketHop {
  private static final Logger log = LoggerFactory.getLogger(WebSocketHop.class);
  private static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);

  private WebSocketHop() {}

  /**
   * Opens the node's side of a WebSocket request. Empty if the node refused the handshake: the
   * caller then forwards the request as plain HTTP, and the node's answer says why (404, 409…).
   */
  static java.util.Optional<Bridge> open(HttpHop http, Exchange x, NodeRoute node) throws InterruptedException {
    URI http1 = HttpHop.target(node.api(), x.request);
    URI ws = URI.create((http1.getScheme().equals("https") ? "wss" : "ws") + http1.toString().substring(http1.getScheme().length()));
    Bridge bridge = new Bridge(node);
    WebSocket.Builder b = http.client().newWebSocketBuilder().connectTimeout(HANDSHAKE_TIMEOUT);
    b.header(NodeCredential.HEADER, node.credential().value());
    b.header(dev.kiln.access.Caller.HEADER, x.caller().header());
    CompletableFuture<WebSocket> opening = b.buildAsync(ws, bridge.fromNode);
    try {
      bridge.node = opening.get(HANDSHAKE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return java.util.Optional.of(bridge);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof WebSocketHandshakeException) return java.util.Optional.empty();
      throw HttpHop.unreachable(node, e.getCause() instanceof Exception c ? c : e);
    } catch (TimeoutException e) {
      // One that opens after all is closed at once: nobody is on the client's side any more.
      opening.whenComplete((late, error) -> {
        if (late != null) late.abort();
      });
      throw HttpHop.unreachable(node, e);
    }
  }

  /** The two sockets. Public only because Jetty binds the listener methods through method handles. */
  public static final class Bridge implements Session.Listener {
    private final NodeRoute route;
    private volatile WebSocket node;
    private volatile Session client;
    private final FromNode fromNode = new FromNode();

    Bridge(NodeRoute route) {
      this.route = route;
    }

    @Override
    public void onWebSocketOpen(Session s) {
      client = s;
      node.request(1);
      s.demand();
    }

    @Override
    public void onWebSocketBinary(ByteBuffer message, Callback callback) {
      ByteBuffer copy = ByteBuffer.allocate(message.remaining()).put(message).flip();
      callback.succeed();
      node.sendBinary(copy, true).whenComplete((w, e) -> next(e));
    }

    @Override
    public void onWebSocketText(String message) {
      node.sendText(message, true).whenComplete((w, e) -> next(e));
    }

    @Override
    public void onWebSocketPing(ByteBuffer payload) {
      client.demand();
    }

    @Override
    public void onWebSocketPong(ByteBuffer payload) {
      client.demand();
    }

    private void next(Throwable failed) {
      if (failed != null) {
        client.close(StatusCode.SERVER_ERROR, "the sandbox's node went away", Callback.NOOP);
        return;
      }
      client.demand();
    }

    /** The node's socket, when the client's was not taken after all. */
    void abandon() {
      node.abort();
    }

    @Override
    public void onWebSocketClose(int status, String reason) {
      if (node.isOutputClosed()) return;
      node.sendClose(sendable(status), reason == null ? "" : reason).whenComplete((w, e) -> {
        if (e != null) node.abort();
      });
    }

    /**
     * A close code the JDK client may send on: the client's own, unless it is one an endpoint may
     * not send (1005, 1006 and the like arrive from Jetty for a connection that just ended).
     */
    private static int sendable(int status) {
      if (status == StatusCode.NORMAL || status == StatusCode.SHUTDOWN || (status >= 3000 && status <= 4999)) return status;
      return status == StatusCode.NO_CODE || status == StatusCode.NO_CLOSE ? WebSocket.NORMAL_CLOSURE : StatusCode.SERVER_ERROR;
    }

    @Override
    public void onWebSocketError(Throwable cause) {
      log.debug("websocket hop to node={} client side failed: {}", route.nodeId(), cause.toString());
      node.abort();
    }

    /** The node's messages, sent on to the client one at a time. */
    private final class FromNode implements WebSocket.Listener {
      @Override
      public void onOpen(WebSocket ws) {
        // The first request(1) is made once the client's side is open too (onWebSocketOpen).
      }

      @Override
      public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
        ByteBuffer copy = ByteBuffer.allocate(data.remaining()).put(data).flip();
        return sent(ws, cb -> client.sendPartialBinary(copy, last, cb));
      }

      @Override
      public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        String text = data.toString();
        return sent(ws, cb -> client.sendPartialText(text, last, cb));
      }

      @Override
      public CompletionStage<?> onPing(WebSocket ws, ByteBuffer message) {
        ws.request(1); // the JDK client answers pings itself
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
        client.close(status, reason, Callback.NOOP);
        return null;
      }

      @Override
      public void onError(WebSocket ws, Throwable error) {
        log.debug("websocket hop to node={} node side failed: {}", route.nodeId(), error.toString());
        Session s = client;
        if (s != null) s.close(StatusCode.SERVER_ERROR, "the sandbox's node went away", Callback.NOOP);
      }

      private CompletionStage<?> sent(WebSocket ws, java.util.function.Consumer<Callback> send) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        send.accept(Callback.from(() -> {
          done.complete(null);
          ws.request(1);
        }, e -> {
          done.completeExceptionally(e);
          ws.abort();
        }));
        return done;
      }
    }
  }

}
