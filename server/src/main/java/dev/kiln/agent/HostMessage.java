package dev.kiln.agent;

import java.util.List;

/** Everything the host sends, with its encoding. */
sealed interface HostMessage {
  FrameType type();

  byte[] payload();

  /**
   * {@code resume}: take the session back (keep running commands); {@code nonce} is echoed first in
   * HELLO_OK; {@code hostname} is what the guest calls itself from now on (at most
   * {@value #MAX_HOSTNAME} bytes of {@code [A-Za-z0-9.-]}, or empty: left as it is).
   */
  record Hello(long unixTimeNanos, byte[] entropy, boolean resume, byte[] nonce, String hostname) implements HostMessage {
    /** HOST_NAME_MAX in the guest's {@code <limits.h>}. */
    static final int MAX_HOSTNAME = 64;

    public Hello {
      if (hostname.length() > MAX_HOSTNAME || !hostname.matches("[A-Za-z0-9.-]*")) {
        throw new IllegalArgumentException("a hostname is at most " + MAX_HOSTNAME + " letters, digits, '.' and '-', got '" + hostname + "'");
      }
    }

    public FrameType type() { return FrameType.HELLO; }
    public byte[] payload() {
      return new PayloadWriter().u32(FrameCodec.VERSION).u64(unixTimeNanos).str(entropy).u32(resume ? 1 : 0).str(nonce)
          .str(hostname).bytes();
    }
  }

  record Exec(ExecRequest req) implements HostMessage {
    public FrameType type() { return FrameType.EXEC; }
    public byte[] payload() {
      PayloadWriter w = new PayloadWriter()
          .u32((req.stdin() ? 1 : 0) | (req.pty().isPresent() ? 2 : 0) | (req.login() ? 4 : 0))
          .u32(req.uid().orElse(-1) & 0xFFFF_FFFFL)
          .u32(req.gid().orElse(-1) & 0xFFFF_FFFFL)
          .u32(req.timeout().map(d -> Math.min(d.toMillis(), 0xFFFF_FFFFL)).orElse(0L))
          .str(req.cwd())
          .strList(req.argv())
          .strList(req.env().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
      req.pty().ifPresent(t -> w.u16(t.rows()).u16(t.cols()));
      return w.bytes();
    }
  }

  record Stdin(byte[] data) implements HostMessage {
    public FrameType type() { return FrameType.STDIN; }
    public byte[] payload() { return data; }
  }

  record Data(byte[] data) implements HostMessage {
    public FrameType type() { return FrameType.DATA; }
    public byte[] payload() { return data; }
  }

  record Signal(int signo) implements HostMessage {
    public FrameType type() { return FrameType.SIGNAL; }
    public byte[] payload() { return new PayloadWriter().u32(signo).bytes(); }
  }

  record Resize(TerminalSize size) implements HostMessage {
    public FrameType type() { return FrameType.RESIZE; }
    public byte[] payload() { return new PayloadWriter().u16(size.rows()).u16(size.cols()).bytes(); }
  }

  record GrowRoot(long bytes) implements HostMessage {
    public FrameType type() { return FrameType.GROW_ROOT; }
    public byte[] payload() { return new PayloadWriter().u64(bytes).bytes(); }
  }

  record Window(long increment) implements HostMessage {
    public FrameType type() { return FrameType.WINDOW; }
    public byte[] payload() { return new PayloadWriter().u32(increment).bytes(); }
  }

  /** A message whose payload is only paths (and flags): FILE_READ, STAT, LIST, RENAME, SYNC, … */
  record PathOp(FrameType type, long mode, long flags, List<String> paths) implements HostMessage {
    public byte[] payload() {
      PayloadWriter w = new PayloadWriter();
      switch (type) {
        case FILE_WRITE, MKDIR -> w.u32(mode).u32(flags);
        case REMOVE -> w.u32(flags);
        default -> { }
      }
      paths.forEach(w::str);
      return w.bytes();
    }
  }

  /** A message with no payload: STDIN_CLOSE, END, CANCEL, SYNC. */
  record Bare(FrameType type) implements HostMessage {
    public byte[] payload() { return new byte[0]; }
  }
}
