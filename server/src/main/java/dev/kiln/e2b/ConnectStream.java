package dev.kiln.e2b;

import dev.kiln.api.Exchange;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A server-streaming Connect response: HTTP 200 with {@code application/connect+json}, then
 * envelopes of one flag byte, a 4-byte big-endian length and a JSON message, each flushed as it is
 * written (the SDK waits for the first, the start event); the last is the end-stream (flag 2),
 * carrying the error if the call failed.
 */
final class ConnectStream implements AutoCloseable {
  static final String CONTENT_TYPE = "application/connect+json";
  private static final int DATA = 0;
  private static final int END_STREAM = 2;
  private final OutputStream out;
  private boolean ended;

  private ConnectStream(OutputStream out) {
    this.out = out;
  }

  static ConnectStream open(Exchange x) {
    return new ConnectStream(x.rawOutput(200, CONTENT_TYPE));
  }

  /** Writes one message; an IOException means the client has gone. */
  synchronized void send(Object message) throws IOException {
    envelope(DATA, ProtoJson.write(message));
  }

  /** Ends the stream with this error (the SDK raises the error its code names). */
  synchronized void fail(ConnectCode code, String message) throws IOException {
    Map<String, Object> error = new LinkedHashMap<>();
    error.put("code", code.wire);
    error.put("message", message);
    end(Map.of("error", error));
  }

  private void end(Map<String, Object> trailer) throws IOException {
    if (ended) return;
    ended = true;
    envelope(END_STREAM, ProtoJson.write(trailer));
  }

  private void envelope(int flags, byte[] payload) throws IOException {
    byte[] head = {(byte) flags, (byte) (payload.length >>> 24), (byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length};
    out.write(head);
    out.write(payload);
    out.flush();
  }

  /** Ends the stream as a success unless it already ended, and closes the response. */
  @Override
  public synchronized void close() throws IOException {
    try {
      end(Map.of());
    } finally {
      out.close();
    }
  }
}
