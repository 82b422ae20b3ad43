package dev.kiln.net.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Asks the upstream resolvers, in order, until one gives a usable reply. Each attempt uses a fresh
 * random ID and, over UDP, a fresh socket on a random port, so an off-path guess has to match
 * both; datagrams that are not the reply to our query are ignored until the attempt's timeout.
 * The client's transport is kept: a TCP client's query goes upstream over TCP, so a truncated
 * answer can be fetched whole.
 */
final class Forwarder {
  /** Room for any sane reply; a larger datagram is cut here and then fails to parse. */
  private static final int MAX_UDP_REPLY = 4096;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final List<InetSocketAddress> upstreams;
  private final Duration timeout;

  Forwarder(List<InetSocketAddress> upstreams, Duration timeout) {
    this.upstreams = List.copyOf(upstreams);
    this.timeout = timeout;
  }

  /** The first usable reply, or the reasons every upstream failed. */
  ForwardResult forward(Question q, Transport transport) {
    List<String> failures = new ArrayList<>();
    for (InetSocketAddress upstream : upstreams) {
      int id = RANDOM.nextInt(1 << 16);
      byte[] query = Messages.query(id, q);
      try {
        byte[] reply = switch (transport) {
          case UDP -> udp(upstream, query, id, q);
          case TCP -> tcp(upstream, query, id, q);
        };
        return ForwardResult.read(reply, q);
      } catch (IOException | DnsFormatException e) {
        failures.add(upstream + ": " + e.getMessage());
      }
    }
    return new ForwardResult.Failed(failures);
  }

  private byte[] udp(InetSocketAddress upstream, byte[] query, int id, Question q) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (DatagramSocket socket = new DatagramSocket()) {
      socket.connect(upstream); // the kernel then drops datagrams from anyone else
      socket.send(new DatagramPacket(query, query.length));
      byte[] buf = new byte[MAX_UDP_REPLY];
      while (true) {
        long left = deadline - System.nanoTime();
        if (left <= 0) throw new SocketTimeoutException("no reply within " + timeout.toMillis() + " ms");
        socket.setSoTimeout((int) Math.max(1, left / 1_000_000));
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        socket.receive(p);
        byte[] reply = Arrays.copyOf(buf, p.getLength());
        if (ForwardResult.answers(reply, id, q)) return reply;
      }
    }
  }

  private byte[] tcp(InetSocketAddress upstream, byte[] query, int id, Question q) throws IOException, DnsFormatException {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Socket socket = new Socket()) {
      socket.connect(upstream, (int) timeout.toMillis());
      // Each read may wait for what is left of the attempt's time. Upstreams are our own
      // infrastructure, not the guest, so a trickling one is not worth a per-byte deadline.
      socket.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
      DataOutputStream out = new DataOutputStream(socket.getOutputStream());
      out.writeShort(query.length);
      out.write(query);
      out.flush();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      byte[] reply = new byte[in.readUnsignedShort()]; // at most 64 KiB by construction
      in.readFully(reply);
      if (!ForwardResult.answers(reply, id, q)) throw new DnsFormatException("TCP reply is not for the query we sent");
      return reply;
    }
  }
}
