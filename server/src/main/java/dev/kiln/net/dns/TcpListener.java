package dev.kiln.net.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts DNS-over-TCP connections (RFC 7766) and serves each on its own virtual thread, one query
 * at a time, until the client closes it, sends something malformed or stays idle too long.
 * Connections over the limits are closed at once.
 *
 * <pre>
 * +--------+--------+---------------------------+
 * | length (u16)    | message of length bytes   |   repeated; length 0..65535 bounds each buffer
 * +--------+--------+---------------------------+
 * </pre>
 */
final class TcpListener implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(TcpListener.class);

  private final ServerSocket server;
  private final QueryHandler handler;
  private final ExecutorService workers;
  private final SourceLimit connections;
  private final int idleMillis;
  private final RateLimitedLog malformed;
  private final RateLimitedLog refused;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();

  TcpListener(ServerSocket server, QueryHandler handler, ExecutorService workers, DnsLimits limits,
      RateLimitedLog malformed, RateLimitedLog refused) {
    this.server = server;
    this.handler = handler;
    this.workers = workers;
    this.connections = new SourceLimit(limits.maxTcpConnections(), limits.maxTcpPerClient());
    this.idleMillis = (int) limits.tcpIdleTimeout().toMillis();
    this.malformed = malformed;
    this.refused = refused;
  }

  @Override
  public void run() {
    while (!server.isClosed()) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        if (!server.isClosed()) log.warn("dns tcp accept failed on {}", server.getLocalSocketAddress(), e);
        continue;
      }
      InetAddress client = s.getInetAddress();
      if (!connections.tryAcquire(client)) {
        refused.record(client, "too many TCP connections");
        closeQuietly(s);
        continue;
      }
      open.add(s);
      try {
        workers.execute(() -> serve(s));
      } catch (RejectedExecutionException e) {
        forget(s); // closing
      }
    }
  }

  /** Closes every open connection; their threads then end on the closed socket. */
  void closeConnections() {
    open.forEach(TcpListener::closeQuietly);
  }

  private void serve(Socket s) {
    InetAddress client = s.getInetAddress();
    try (s) {
      s.setSoTimeout(idleMillis);
      DataInputStream in = new DataInputStream(s.getInputStream());
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      while (true) {
        int length = readLength(in);
        if (length < 0) return;
        byte[] query = new byte[length];
        in.readFully(query);
        byte[] reply = handler.handle(query, client, Transport.TCP).orElse(null);
        if (reply == null) return; // nothing sensible to say: end the conversation
        out.writeShort(reply.length);
        out.write(reply);
        out.flush();
      }
    } catch (SocketTimeoutException e) {
      log.debug("dns tcp connection from {} idle for {} ms, closed", client, idleMillis);
    } catch (EOFException e) {
      malformed.record(client, "TCP connection closed inside a message");
    } catch (IOException e) {
      if (!server.isClosed()) log.debug("dns tcp connection from {} failed", client, e);
    } finally {
      forget(s);
    }
  }

  /** The next message's length, or -1 on a clean close between messages. */
  private static int readLength(InputStream in) throws IOException {
    int hi = in.read();
    if (hi < 0) return -1;
    int lo = in.read();
    if (lo < 0) throw new EOFException("closed inside a length prefix");
    return (hi << 8) | lo;
  }

  private void forget(Socket s) {
    if (open.remove(s)) connections.release(s.getInetAddress());
    closeQuietly(s);
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing on teardown or rejection: there is no one left to tell
    }
  }
}
