package dev.kiln.agent;

/** Frame type codes of protocol version 1; the table in docs/agent-protocol.md is the reference. */
enum FrameType {
  HELLO(0x01), EXEC(0x02), STDIN(0x03), STDIN_CLOSE(0x04), SIGNAL(0x05), FILE_READ(0x06),
  FILE_WRITE(0x07), STAT(0x08), LIST(0x09), MKDIR(0x0A), REMOVE(0x0B), RENAME(0x0C), SYNC(0x0D),
  WINDOW(0x0E), DATA(0x0F), END(0x10), CANCEL(0x11), FREEZE(0x12), RESIZE(0x13), GROW_ROOT(0x14), HOLD(0x15),
  HELLO_OK(0x41), STARTED(0x42), STDOUT(0x43), STDERR(0x44), EXIT(0x45), OK(0x46), ERROR(0x47),
  STAT_RESULT(0x48), LIST_ENTRIES(0x49);

  private static final FrameType[] BY_CODE = new FrameType[256];

  static {
    for (FrameType t : values()) BY_CODE[t.code] = t;
  }

  final int code;

  FrameType(int code) {
    this.code = code;
  }

  static FrameType of(int code) throws ProtocolException {
    FrameType t = (code >= 0 && code < 256) ? BY_CODE[code] : null;
    if (t == null) throw new ProtocolException("unknown frame type 0x" + Integer.toHexString(code));
    return t;
  }
}
