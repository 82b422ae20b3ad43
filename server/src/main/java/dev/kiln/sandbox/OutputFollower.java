package dev.kiln.sandbox;

import java.io.IOException;

/**
 * What a reader of a process's output is told by {@link GuestProcess#follow}, in this order: an
 * overflow (if output before the oldest kept byte was asked for), the kept output, that the replay
 * is done, then live output with idle ticks in between, and finally the end. A transport (NDJSON,
 * WebSocket) only encodes these; an IOException means its client went away.
 */
public interface OutputFollower {
  void overflow(long droppedBytes, long resumeCursor) throws IOException;

  void output(Scrollback.Chunk chunk) throws IOException;

  void replayed(long cursor) throws IOException;

  /** Nothing new for a heartbeat's time; the process still runs. */
  void idle(long cursor) throws IOException;

  /** The process exited or was lost; nothing follows. */
  void ended(GuestProcess process) throws IOException;
}
