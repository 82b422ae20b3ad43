package dev.kiln.net.dns;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Receives queries on the UDP socket and answers each on its own virtual thread, so a slow upstream
 * holds up only the queries waiting on it. Runs until the socket is closed.
 */
final class UdpListener implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(UdpListener.class);
  /** Larger than any query (a name is at most 255 bytes); a longer datagram is cut and then fails to parse. */
  private static final int MAX_QUERY = 4096;

  private final DatagramSocket socket;
  private final QueryHandler handler;
  private final ExecutorService workers;
  private final SourceLimit inFlight;
  private final RateLimitedLog dropped;

  UdpListener(DatagramSocket socket, QueryHandler handler, ExecutorService workers, SourceLimit inFlight, RateLimitedLog dropped) {
    this.socket = socket;
    this.handler = handler;
    this.workers = workers;
    this.inFlight = inFlight;
    this.dropped = dropped;
  }

  @Override
  public void run() {
    byte[] buf = new byte[MAX_QUERY];
    while (!socket.isClosed()) {
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        socket.receive(p);
      } catch (IOException e) {
        if (!socket.isClosed()) log.warn("dns udp receive failed on {}", socket.getLocalSocketAddress(), e);
        continue;
      }
      InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
      if (!inFlight.tryAcquire(from.getAddress())) {
        dropped.record(from.getAddress(), "too many queries in flight");
        continue;
      }
      byte[] query = Arrays.copyOf(buf, p.getLength());
      try {
        workers.execute(() -> answer(query, from));
      } catch (RejectedExecutionException e) {
        inFlight.release(from.getAddress()); // closing
      }
    }
  }

  private void answer(byte[] query, InetSocketAddress from) {
    try {
      byte[] reply = handler.handle(query, from.getAddress(), Transport.UDP).orElse(null);
      if (reply != null) socket.send(new DatagramPacket(reply, reply.length, from));
    } catch (IOException e) {
      if (!socket.isClosed()) log.debug("dns udp reply to {} failed", from, e);
    } finally {
      inFlight.release(from.getAddress());
    }
  }
}
