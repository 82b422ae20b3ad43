package dev.kiln.net.proxy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Raw forwarding to a real listening socket standing in for the sandbox port. */
class TcpForwarderTest {
  private ServerSocket sandbox;
  private final SynchronousQueue<Socket> accepted = new SynchronousQueue<>();

  @BeforeEach
  void listen() throws IOException {
    sandbox = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
    Thread.ofVirtual().start(() -> {
      try {
        while (true) accepted.put(sandbox.accept());
      } catch (IOException | InterruptedException e) {
        // the test closed the listener
      }
    });
  }

  @AfterEach
  void close() throws IOException {
    sandbox.close();
  }

  private InetSocketAddress sandboxAddress() {
    return new InetSocketAddress("127.0.0.1", sandbox.getLocalPort());
  }

  private Socket connect(TcpForwarder f) throws IOException {
    Socket s = new Socket(f.address().getAddress(), f.address().getPort());
    s.setSoTimeout(5_000);
    return s;
  }

  private Socket nextAccepted() throws InterruptedException, SocketException {
    Socket s = accepted.poll(5, TimeUnit.SECONDS);
    if (s == null) throw new AssertionError("the forwarder did not connect to the sandbox port");
    s.setSoTimeout(5_000);
    return s;
  }

  @Test
  void bytesFlowBothWaysAndHalfCloseReachesTheOtherSide() throws Exception {
    try (TcpForwarder f = TcpForwarder.start(ProxyFixture.anyLoopbackPort(), this::sandboxAddress); Socket client = connect(f)) {
      client.getOutputStream().write("ping".getBytes(StandardCharsets.US_ASCII));
      client.shutdownOutput();
      try (Socket server = nextAccepted()) {
        assertEquals("ping", new String(server.getInputStream().readAllBytes(), StandardCharsets.US_ASCII), "EOF after ping");
        // the client's half-close did not close the way back
        server.getOutputStream().write("pong".getBytes(StandardCharsets.US_ASCII));
        server.shutdownOutput();
        assertEquals("pong", new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII));
      }
    }
  }

  @Test
  void closeEndsLiveConnectionsAtBothEnds() throws Exception {
    TcpForwarder f = TcpForwarder.start(ProxyFixture.anyLoopbackPort(), this::sandboxAddress);
    try (Socket client = connect(f); Socket server = nextAccepted()) {
      client.getOutputStream().write(1);
      assertEquals(1, server.getInputStream().read());
      f.close();
      assertEnded(client.getInputStream());
      assertEnded(server.getInputStream());
      assertThrows(IOException.class, () -> new Socket(f.address().getAddress(), f.address().getPort()).close());
    }
  }

  @Test
  void aTargetThatIsDownOrUnknownClosesTheClient() throws Exception {
    InetSocketAddress dead = ProxyFixture.deadAddress();
    try (TcpForwarder down = TcpForwarder.start(ProxyFixture.anyLoopbackPort(), () -> dead);
        TcpForwarder unknown = TcpForwarder.start(ProxyFixture.anyLoopbackPort(), () -> {
          throw new IllegalStateException("sandbox is gone");
        });
        Socket a = connect(down);
        Socket b = connect(unknown)) {
      assertEnded(a.getInputStream());
      assertEnded(b.getInputStream());
    }
  }

  private static void assertEnded(InputStream in) throws IOException {
    byte[] rest;
    try {
      rest = in.readAllBytes();
    } catch (SocketException reset) {
      return;
    }
    assertArrayEquals(new byte[0], rest);
  }
}
