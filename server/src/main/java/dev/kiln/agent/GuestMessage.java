package dev.kiln.agent;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Everything the guest may send, decoded and validated. */
sealed interface GuestMessage {
  /** {@code running}: commands a resumed session kept (stream, pid); empty for a new session. */
  record HelloOk(byte[] nonce, long version, String agentVersion, List<Running> running) implements GuestMessage {}

  record Running(int stream, long pid) {}

  record Started(long pid) implements GuestMessage {}

  /** STDOUT, STDERR or DATA bytes: the only messages that spend flow-control credit. */
  record Bytes(Channel channel, byte[] data) implements GuestMessage {}

  record Exit(ExitStatus status) implements GuestMessage {}

  record Ok(long value) implements GuestMessage {}

  record Error(int errno, String message) implements GuestMessage {}

  record Stat(FileEntry entry) implements GuestMessage {}

  record Entries(List<FileEntry> entries) implements GuestMessage {}

  record Window(long increment) implements GuestMessage {}

  record End() implements GuestMessage {}

  enum Channel { STDOUT, STDERR, DATA }

  /** The agent's own stream limit bounds what a resumed session can list. */
  int MAX_RUNNING = 1024;

  static GuestMessage decode(Frame f) throws ProtocolException {
    PayloadReader r = new PayloadReader(f);
    GuestMessage m = switch (f.type()) {
      case HELLO_OK -> {
        byte[] nonce = r.str();
        long version = r.u32();
        String agentVersion = new String(r.str(), StandardCharsets.UTF_8);
        long n = r.u32();
        if (n > MAX_RUNNING) throw new ProtocolException("HELLO_OK lists " + n + " running commands, the limit is " + MAX_RUNNING);
        List<Running> running = new ArrayList<>((int) n);
        for (int i = 0; i < n; i++) running.add(new Running((int) r.u32(), r.u32()));
        yield new HelloOk(nonce, version, agentVersion, running);
      }
      case STARTED -> new Started(r.u32());
      case STDOUT -> new Bytes(Channel.STDOUT, r.rest());
      case STDERR -> new Bytes(Channel.STDERR, r.rest());
      case DATA -> new Bytes(Channel.DATA, r.rest());
      case EXIT -> new Exit(ExitStatus.decode(r));
      case OK -> new Ok(r.u64());
      case ERROR -> new Error(r.i32(), new String(r.str(), StandardCharsets.UTF_8));
      case STAT_RESULT -> new Stat(FileEntry.decode(r));
      case LIST_ENTRIES -> {
        long n = r.u32();
        if (n > PayloadReader.MAX_LIST) throw new ProtocolException("LIST_ENTRIES of " + n + " entries, the limit is " + PayloadReader.MAX_LIST);
        List<FileEntry> entries = new ArrayList<>((int) n);
        for (int i = 0; i < n; i++) entries.add(FileEntry.decode(r));
        yield new Entries(entries);
      }
      case WINDOW -> new Window(r.u32());
      case END -> new End();
      case HELLO, EXEC, STDIN, STDIN_CLOSE, SIGNAL, FILE_READ, FILE_WRITE, STAT, LIST, MKDIR, REMOVE, RENAME, SYNC, CANCEL, FREEZE, RESIZE, GROW_ROOT, HOLD ->
          throw new ProtocolException("the guest sent " + f.type() + ", which only the host may send");
    };
    r.end();
    return m;
  }
}
