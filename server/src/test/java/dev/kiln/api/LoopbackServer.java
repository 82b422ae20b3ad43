package dev.kiln.api;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** One Jetty handler on a free loopback port, for tests of what a handler answers over real HTTP. */
record LoopbackServer(Server server, String base) implements AutoCloseable {
  static LoopbackServer start(Handler handler) throws Exception {
    Server server = new Server();
    ServerConnector c = new ServerConnector(server);
    c.setHost("127.0.0.1");
    server.addConnector(c);
    server.setHandler(handler);
    server.start();
    return new LoopbackServer(server, "http://127.0.0.1:" + c.getLocalPort());
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }
}
