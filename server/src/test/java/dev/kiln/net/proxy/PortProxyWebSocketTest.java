package dev.kiln.net.proxy;

import static dev.kiln.net.proxy.ProxyFixture.DOMAIN;
import static dev.kiln.net.proxy.ProxyFixture.TOKEN;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.websocket.api.Callback;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.server.WebSocketUpgradeHandler;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A real WebSocket client and a real echo server (Jetty) talk through both routes. */
class PortProxyWebSocketTest {
  private static Server echo;
  private static PortProxy proxy;
  private static HttpClient http;
  /** What the echo server saw of each upgrade: path and whether a token reached it. */
  private static final List<String> upgrades = new CopyOnWriteArrayList<>();

  /** Answers text with "echo:" + text and binary with the same bytes. */
  public static final class Echo implements Session.Listener.AutoDemanding {
    private Session session;

    @Override
    public void onWebSocketOpen(Session s) {
      session = s;
    }

    @Override
    public void onWebSocketText(String message) {
      session.sendText("echo:" + message, Callback.NOOP);
    }

    @Override
    public void onWebSocketBinary(ByteBuffer message, Callback callback) {
      ByteBuffer copy = ByteBuffer.allocate(message.remaining()).put(message).flip();
      callback.succeed();
      session.sendBinary(copy, Callback.NOOP);
    }
  }

  @BeforeAll
  static void start() throws Exception {
    echo = new Server();
    ServerConnector connector = new ServerConnector(echo);
    connector.setHost("127.0.0.1");
    connector.setPort(0);
    echo.addConnector(connector);
    echo.setHandler(WebSocketUpgradeHandler.from(echo, container -> {
      container.setMaxBinaryMessageSize(1 << 20);
      container.addMapping("/*", (rq, rs, cb) -> {
        upgrades.add(rq.getHttpURI().getPathQuery() + " token=" + rq.getHeaders().get("X-Kiln-Access-Token"));
        return new Echo();
      });
    }));
    echo.start();
    InetSocketAddress ws = new InetSocketAddress("127.0.0.1", connector.getLocalPort());
    Map<String, ProxyTarget> targets = Map.of("ws:9000", new ProxyTarget(ws, Optional.of(TOKEN)));
    proxy = PortProxy.start(ProxyFixture.anyLoopbackPort(), DOMAIN, (id, port) -> Optional.ofNullable(targets.get(id + ":" + port)));
    http = HttpClient.newHttpClient();
  }

  @AfterAll
  static void stop() throws Exception {
    http.close();
    proxy.close();
    echo.stop();
  }

  @Test
  void pathRoute() throws Exception {
    URI uri = URI.create("ws://127.0.0.1:" + proxy.address().getPort() + "/v1/sandboxes/ws/ports/9000/chat?room=1");
    exchange(http.newWebSocketBuilder().header("X-Kiln-Access-Token", TOKEN), uri);
    assertEquals("/chat?room=1 token=null", upgrades.getLast());
  }

  @Test
  void hostRoute() throws Exception {
    try (ConnectTunnel tunnel = ConnectTunnel.to(proxy.address());
        HttpClient viaTunnel = HttpClient.newBuilder().proxy(ProxySelector.of(tunnel.address())).build()) {
      exchange(viaTunnel.newWebSocketBuilder(), URI.create("ws://9000-ws." + DOMAIN + "/live?kiln_token=" + TOKEN));
    }
    assertEquals("/live token=null", upgrades.getLast());
  }

  private static void exchange(WebSocket.Builder builder, URI uri) throws Exception {
    Inbox inbox = new Inbox();
    WebSocket ws = builder.buildAsync(uri, inbox).get(5, TimeUnit.SECONDS);
    ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
    assertEquals("echo:hello", inbox.next());
    byte[] blob = new byte[200_000];
    new Random(7).nextBytes(blob);
    ws.sendBinary(ByteBuffer.wrap(blob), true).get(5, TimeUnit.SECONDS);
    assertArrayEquals(blob, (byte[]) inbox.next());
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    assertEquals("closed " + WebSocket.NORMAL_CLOSURE, inbox.next());
    assertNull(inbox.messages.poll(200, TimeUnit.MILLISECONDS));
  }

  /** Collects whole messages: text as String, binary as byte[], the close as "closed <code>". */
  private static final class Inbox implements WebSocket.Listener {
    final BlockingQueue<Object> messages = new LinkedBlockingQueue<>();
    private final StringBuilder text = new StringBuilder();
    private java.io.ByteArrayOutputStream binary = new java.io.ByteArrayOutputStream();

    Object next() throws InterruptedException {
      Object m = messages.poll(5, TimeUnit.SECONDS);
      if (m == null) throw new AssertionError("no message within 5 s");
      return m;
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      text.append(data);
      if (last) {
        messages.add(text.toString());
        text.setLength(0);
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
      byte[] b = new byte[data.remaining()];
      data.get(b);
      binary.writeBytes(b);
      if (last) {
        messages.add(binary.toByteArray());
        binary = new java.io.ByteArrayOutputStream();
      }
      ws.request(1);
      return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
      messages.add("closed " + statusCode);
      return null;
    }
  }
}
