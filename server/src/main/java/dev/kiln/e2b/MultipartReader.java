package dev.kiln.e2b;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A multipart/form-data body read part by part as it arrives, each part's content a stream that
 * ends at the next delimiter: a 50 MiB upload is never held in memory or spooled to disk. Headers
 * are bounded; a body that ends inside a part is an error, not a short file. A malformed body is a
 * KilnException (400); an IOException is the connection's.
 */
final class MultipartReader {
  private static final int MAX_HEADER_BYTES = 16 * 1024;
  private static final int BUFFER = 64 * 1024;
  private final InputStream in;
  /** CRLF "--" boundary: what ends every part's content. */
  private final byte[] delimiter;
  private final byte[] buf;
  private int pos;
  private int lim;
  private boolean eof;
  private boolean started;
  private boolean finished;
  private PartInput current;

  MultipartReader(InputStream in, String boundary) {
    this.in = in;
    this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.ISO_8859_1);
    this.buf = new byte[BUFFER + delimiter.length];
  }

  /** A body that is not multipart/form-data is the request's fault (400), unlike a connection that fails (an IOException). */
  private static KilnException malformed(String why) {
    return new KilnException(ErrorCode.INVALID_REQUEST, "the multipart body is malformed: " + why);
  }

  /** The boundary of a {@code multipart/form-data; boundary=…} content type. */
  static Optional<String> boundaryOf(String contentType) {
    if (contentType == null || !contentType.toLowerCase(Locale.ROOT).startsWith("multipart/form-data")) return Optional.empty();
    for (String param : contentType.split(";")) {
      String p = param.strip();
      if (p.toLowerCase(Locale.ROOT).startsWith("boundary=")) {
        String b = p.substring("boundary=".length());
        if (b.length() >= 2 && b.startsWith("\"") && b.endsWith("\"")) b = b.substring(1, b.length() - 1);
        if (b.isEmpty() || b.length() > 70) return Optional.empty();
        return Optional.of(b);
      }
    }
    return Optional.empty();
  }

  record Part(Map<String, String> headers, InputStream content) {
    /** The {@code filename} of its Content-Disposition, if it has one. */
    Optional<String> filename() {
      return dispositionParam("filename");
    }

    Optional<String> name() {
      return dispositionParam("name");
    }

    private Optional<String> dispositionParam(String key) {
      String d = headers.get("content-disposition");
      if (d == null) return Optional.empty();
      for (String param : d.split(";")) {
        String p = param.strip();
        int eq = p.indexOf('=');
        if (eq < 0 || !p.substring(0, eq).strip().equalsIgnoreCase(key)) continue;
        String v = p.substring(eq + 1).strip();
        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length() - 1);
        return Optional.of(v);
      }
      return Optional.empty();
    }
  }

  /** The next part (the one before is skipped to its end), or empty after the closing delimiter. */
  Optional<Part> next() throws IOException {
    if (finished) return Optional.empty();
    if (!started) {
      started = true;
      skipPreamble();
    } else {
      current.skipToEnd();
    }
    // After a delimiter: "--" closes the body, CRLF starts a part's headers.
    fill(2);
    if (lim - pos < 2) throw malformed("the multipart body ended after a delimiter");
    if (buf[pos] == '-' && buf[pos + 1] == '-') {
      finished = true;
      return Optional.empty();
    }
    if (buf[pos] != '\r' || buf[pos + 1] != '\n') throw malformed("a multipart delimiter is not followed by CRLF or \"--\"");
    pos += 2;
    Map<String, String> headers = headers();
    current = new PartInput();
    return Optional.of(new Part(headers, current));
  }

  /** The body starts with "--boundary" (no CRLF before it); anything before that is a preamble to skip. */
  private void skipPreamble() throws IOException {
    byte[] first = java.util.Arrays.copyOfRange(delimiter, 2, delimiter.length);
    fill(first.length);
    if (startsWith(first)) {
      pos += first.length;
      return;
    }
    PartInput preamble = new PartInput();
    preamble.skipToEnd();
  }

  private Map<String, String> headers() throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    int total = 0;
    while (true) {
      StringBuilder line = new StringBuilder();
      while (true) {
        fill(1);
        if (lim - pos < 1) throw malformed("the multipart body ended inside a part's headers");
        byte b = buf[pos++];
        if (++total > MAX_HEADER_BYTES) throw malformed("a part's headers are larger than " + MAX_HEADER_BYTES + " bytes");
        if (b == '\n') break;
        if (b != '\r') line.append((char) (b & 0xFF));
      }
      if (line.isEmpty()) return out;
      int colon = line.indexOf(":");
      if (colon <= 0) throw malformed("a part header is not 'Name: value'");
      out.put(line.substring(0, colon).strip().toLowerCase(Locale.ROOT), new String(line.substring(colon + 1).strip().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
    }
  }

  /** Reads until at least {@code n} bytes are buffered, or the body ends. */
  private void fill(int n) throws IOException {
    if (lim - pos >= n) return;
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, lim - pos);
      lim -= pos;
      pos = 0;
    }
    while (lim < n && !eof) {
      int r = in.read(buf, lim, buf.length - lim);
      if (r < 0) eof = true;
      else lim += r;
    }
  }

  private boolean startsWith(byte[] prefix) {
    if (lim - pos < prefix.length) return false;
    for (int i = 0; i < prefix.length; i++) if (buf[pos + i] != prefix[i]) return false;
    return true;
  }

  private int indexOfDelimiter() {
    outer:
    for (int i = pos; i <= lim - delimiter.length; i++) {
      for (int j = 0; j < delimiter.length; j++) if (buf[i + j] != delimiter[j]) continue outer;
      return i;
    }
    return -1;
  }

  /** One part's content: the bytes up to the next delimiter, which it consumes. */
  private final class PartInput extends InputStream {
    private boolean done;

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      int n = read(one, 0, 1);
      return n < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (done) return -1;
      if (len == 0) return 0;
      while (true) {
        fill(delimiter.length);
        int at = indexOfDelimiter();
        if (at == pos) {
          pos += delimiter.length;
          done = true;
          return -1;
        }
        // Bytes that cannot be the start of a delimiter are the part's.
        int safe = at >= 0 ? at - pos : Math.max(0, lim - pos - (delimiter.length - 1));
        if (safe == 0) {
          if (eof) throw malformed("the multipart body ended inside a part (no closing delimiter)");
          fill(lim - pos + 1);
          continue;
        }
        int n = Math.min(len, safe);
        System.arraycopy(buf, pos, b, off, n);
        pos += n;
        return n;
      }
    }

    void skipToEnd() throws IOException {
      byte[] sink = new byte[8192];
      while (read(sink, 0, sink.length) >= 0) {
        // discarded
      }
    }
  }
}
