package dev.kiln.agent;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** File operations inside the guest, streamed with flow control so no size is buffered whole. */
public final class GuestFiles {
  /** Metadata calls are quick in a healthy guest; this bounds a stuck or hostile one. */
  private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(60);
  private final AgentConnection conn;

  GuestFiles(AgentConnection conn) {
    this.conn = conn;
  }

  /** Opens a guest file for reading; the stream must be closed (closing early cancels the transfer). */
  public GuestFileInput read(String path) throws AgentException, InterruptedException {
    Stream s = conn.open(op(FrameType.FILE_READ, 0, 0, path));
    GuestMessage first = conn.takeReply(s, REPLY_TIMEOUT);
    if (!(first instanceof GuestMessage.Ok ok)) throw conn.unexpected(s, first, "OK");
    return new GuestFileInput(conn, s, ok.value());
  }

  /** Writes {@code content} to a guest file (created or truncated) and returns the bytes written, after fsync. */
  public long write(String path, int mode, boolean createParents, InputStream content) throws AgentException, InterruptedException, IOException {
    Stream s = conn.open(op(FrameType.FILE_WRITE, mode, createParents ? 1 : 0, path));
    boolean done = false;
    try {
      expectOk(s, conn.takeReply(s, REPLY_TIMEOUT));
      byte[] buf = new byte[FrameCodec.DATA_CHUNK];
      while (true) {
        int credit = s.acquireCredit(buf.length);
        int n = content.readNBytes(buf, 0, credit);
        if (n > 0) conn.send(s.id, new HostMessage.Data(java.util.Arrays.copyOf(buf, n)));
        if (n < credit) break;
      }
      conn.send(s.id, new HostMessage.Bare(FrameType.END));
      long written = expectOk(s, conn.takeReply(s, REPLY_TIMEOUT));
      done = true;
      return written;
    } finally {
      if (done) conn.release(s);
      else conn.cancel(s);
    }
  }

  public FileEntry stat(String path) throws AgentException, InterruptedException {
    Stream s = conn.open(op(FrameType.STAT, 0, 0, path));
    GuestMessage m = conn.takeReply(s, REPLY_TIMEOUT);
    conn.release(s);
    if (m instanceof GuestMessage.Stat st) return st.entry();
    throw conn.unexpected(s, m, "STAT_RESULT");
  }

  /**
   * Lists a directory. {@code limit} bounds what the host holds for one call: a guest that
   * keeps sending entries past it is cut off with an error rather than growing the heap.
   */
  public List<FileEntry> list(String path, int limit) throws AgentException, InterruptedException {
    Stream s = conn.open(op(FrameType.LIST, 0, 0, path));
    List<FileEntry> out = new ArrayList<>();
    boolean done = false;
    try {
      while (true) {
        GuestMessage m = conn.takeReply(s, REPLY_TIMEOUT);
        switch (m) {
          case GuestMessage.Entries e -> {
            out.addAll(e.entries());
            if (out.size() > limit) throw new AgentException(AgentException.EOVERFLOW, "directory " + path + " has more than " + limit + " entries");
          }
          case GuestMessage.End e -> {
            done = true;
            return out;
          }
          default -> throw conn.unexpected(s, m, "LIST_ENTRIES or END");
        }
      }
    } finally {
      if (done) conn.release(s);
      else conn.cancel(s);
    }
  }

  public void mkdir(String path, int mode, boolean parents) throws AgentException, InterruptedException {
    simple(op(FrameType.MKDIR, mode, parents ? 1 : 0, path));
  }

  public void remove(String path, boolean recursive) throws AgentException, InterruptedException {
    simple(op(FrameType.REMOVE, 0, recursive ? 1 : 0, path));
  }

  public void rename(String from, String to) throws AgentException, InterruptedException {
    simple(new HostMessage.PathOp(FrameType.RENAME, 0, 0, List.of(from, to)));
  }

  public void sync() throws AgentException, InterruptedException {
    simple(new HostMessage.PathOp(FrameType.SYNC, 0, 0, List.of()));
  }

  /**
   * Syncs and freezes the guest's root filesystem so a snapshot of the disk is consistent on its
   * own. The agent thaws it at the next HELLO: in this VM after a reconnect, or in a restored clone.
   */
  public void freeze() throws AgentException, InterruptedException {
    simple(new HostMessage.PathOp(FrameType.FREEZE, 0, 0, List.of()));
  }

  /**
   * Holds every command's output, its exit and file data in the guest until the next HELLO: once
   * this returns, nothing more is on its way from this session, so a host handing the session to
   * another (a live migration) loses none of it. Commands keep running; their output waits in
   * their pipes for the host that resumes the session.
   */
  public void holdOutput() throws AgentException, InterruptedException {
    simple(new HostMessage.PathOp(FrameType.HOLD, 0, 0, List.of()));
  }

  /**
   * Grows the root filesystem to {@code bytes} once the guest sees its disk that large (the host
   * grew it just before); returns the filesystem's new size.
   */
  public long growRoot(long bytes) throws AgentException, InterruptedException {
    return simple(new HostMessage.GrowRoot(bytes));
  }

  private long simple(HostMessage m) throws AgentException, InterruptedException {
    Stream s = conn.open(m);
    try {
      return expectOk(s, conn.takeReply(s, REPLY_TIMEOUT));
    } finally {
      conn.release(s);
    }
  }

  private long expectOk(Stream s, GuestMessage m) throws AgentException {
    if (m instanceof GuestMessage.Ok ok) return ok.value();
    throw conn.unexpected(s, m, "OK");
  }

  private static HostMessage op(FrameType type, int mode, int flags, String path) {
    return new HostMessage.PathOp(type, mode, flags, List.of(path));
  }
}
