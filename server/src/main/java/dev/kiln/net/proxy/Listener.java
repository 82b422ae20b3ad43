package dev.kiln.net.proxy;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listening socket whose accepted connections each get a virtual thread, up to a bound. It owns
 * those connections: it closes each when its handler returns, and all of them on {@link #close()}.
 * Nothing a handler throws reaches the accept loop.
 */
final class Listener implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Listener.class);
  // Room for a burst of browser connections arriving together while the accept loop catches up.
  private static final int BACKLOG = 256;
  /** The accept thread leaves as soon as its socket is closed; this only bounds a close that waits for it. */
  private static final java.time.Duration ACCEPT_EXIT_WAIT = java.time.Duration.ofSeconds(5);
  // A failing accept (out of file descriptors) fails again at once: pause instead of spinning.
  private static final long ACCEPT_RETRY_MILLIS = 100;

  private final String name;
  private final ServerSocket server;
  private final Semaphore slots;
  private final Consumer<Socket> serve;
  private final Consumer<Socket> refuse;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;
  private volatile Thread acceptor;

  private Listener(String name, ServerSocket server, int maxConnections, Consumer<Socket> serve, Consumer<Socket> refuse) {
    this.name = name;
    this.server = server;
    this.slots = new Semaphore(maxConnections);
    this.serve = serve;
    this.refuse = refuse;
  }

  /**
   * @param serve handles one connection on its own virtual thread; the socket is closed after
   * @param refuse told about a connection beyond {@code maxConnections}, on the accept thread, so
   *     it must not block; the socket is closed after
   */
  static Listener start(InetSocketAddress listen, String name, int maxConnections, Consumer<Socket> serve, Consumer<Socket> refuse)
      throws IOException {
    return start(listen, name, maxConnections, serve, refuse, java.util.Optional.empty());
  }

  /** The same over TLS when {@code tls} is given: each connection's handshake happens on its own thread, at its first read. */
  static Listener start(InetSocketAddress listen, String name, int maxConnections, Consumer<Socket> serve, Consumer<Socket> refuse,
      java.util.Optional<javax.net.ssl.SSLContext> tls) throws IOException {
    ServerSocket server = tls.isPresent() ? tls.get().getServerSocketFactory().createServerSocket() : new ServerSocket();
    try {
      server.setReuseAddress(true);
      server.bind(listen, BACKLOG);
    } catch (IOException e) {
      server.close();
      throw new IOException("cannot listen on " + listen + " for " + name + ": " + e.getMessage(), e);
    }
    Listener l = new Listener(name, server, maxConnections, serve, refuse);
    l.acceptor = Thread.ofVirtual().name(name + "-accept").start(l::acceptLoop);
    return l;
  }

  InetSocketAddress address() {
    return (InetSocketAddress) server.getLocalSocketAddress();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        if (closed) return;
        log.warn("{} accept failed on {}: {}", name, address(), e.toString());
        pause();
        continue;
      }
      if (!slots.tryAcquire()) {
        log.warn("{} refused a connection from {}: {} connections open", name, s.getRemoteSocketAddress(), open.size());
        try {
          refuse.accept(s);
        } catch (RuntimeException e) {
          log.warn("{} refusing a connection failed", name, e);
        } finally {
          closeQuietly(s);
        }
        continue;
      }
      open.add(s);
      // close() may have taken its snapshot of open just before the add
      if (closed) closeQuietly(s);
      Thread.ofVirtual().name(name + "-conn").start(() -> serveOne(s));
    }
  }

  private void serveOne(Socket s) {
    try {
      serve.accept(s);
    } catch (RuntimeException e) {
      log.warn("{} connection from {} failed", name, s.getRemoteSocketAddress(), e);
    } finally {
      closeQuietly(s);
      open.remove(s);
      slots.release();
    }
  }

  /**
   * Stops accepting and closes every open connection; idempotent. Returns once the port is
   * released: a socket closed while a thread is blocked in its accept is really closed by that
   * thread as it leaves, so until then a connect could still land in the backlog.
   */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      log.warn("{} closing {}: {}", name, address(), e.toString());
    }
    open.forEach(Listener::closeQuietly);
    Thread t = acceptor;
    if (t != null && t != Thread.currentThread()) {
      try {
        if (!t.join(ACCEPT_EXIT_WAIT)) log.warn("{} accept thread still running {} s after close", name, ACCEPT_EXIT_WAIT.toSeconds());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void pause() {
    try {
      Thread.sleep(ACCEPT_RETRY_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // closing is all that was wanted
    }
  }
}
