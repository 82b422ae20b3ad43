package dev.kiln.net.proxy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * A minimal HTTP CONNECT proxy that tunnels every request to one address. A java.net.http client
 * configured with it sends {@code ws://9000-ws.sandbox.localhost/} without resolving the name, so
 * the PortProxy's host route is reached with a real client and a real Host header (the client
 * refuses to set Host itself, and the name does not resolve on a test machine).
 */
final class ConnectTunnel implements AutoCloseable {
  private final ServerSocket server;

  private ConnectTunnel(ServerSocket server) {
    this.server = server;
  }

  static ConnectTunnel to(InetSocketAddress target) throws IOException {
    ConnectTunnel t = new ConnectTunnel(new ServerSocket(0, 50, InetAddress.getLoopbackAddress()));
    Thread.ofVirtual().start(() -> {
      try {
        while (true) {
          Socket client = t.server.accept();
          Thread.ofVirtual().start(() -> tunnel(client, target));
        }
      } catch (IOException e) {
        // closed
      }
    });
    return t;
  }

  InetSocketAddress address() {
    return new InetSocketAddress("127.0.0.1", server.getLocalPort());
  }

  private static void tunnel(Socket client, InetSocketAddress target) {
    try {
      InputStream in = client.getInputStream();
      ByteArrayOutputStream head = new ByteArrayOutputStream();
      while (!head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
        int b = in.read();
        if (b < 0) throw new IOException("no CONNECT head");
        head.write(b);
      }
      if (!head.toString(StandardCharsets.ISO_8859_1).startsWith("CONNECT ")) throw new IOException("not a CONNECT: " + head);
      Socket upstream = new Socket(target.getAddress(), target.getPort());
      client.getOutputStream().write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      Splice.run(client, new byte[0], upstream, Optional.empty());
    } catch (IOException e) {
      Listener.closeQuietly(client);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
