package dev.kiln.vmm;

import dev.kiln.host.UntrustedFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A VM's serial console on the host, bounded: QEMU writes it to a socket, and the daemon keeps the
 * last {@link #CAP_BYTES} of it in two files of at most half that each ({@code console.log} and
 * {@code console.log.1}, the older half). A guest printing without end costs the host that much
 * disk and no more. The files are the daemon's, in the sticky run directory, so QEMU cannot swap
 * them; while no daemon reads the socket, QEMU drops what the guest prints.
 */
public final class ConsoleLog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ConsoleLog.class);
  /** What the console keeps: enough for a boot's worth of kernel messages many times over. */
  public static final long CAP_BYTES = 1 << 20;

  private final SocketChannel socket;

  private ConsoleLog(SocketChannel socket) {
    this.socket = socket;
  }

  /** The older half of the log beside {@code log}. */
  public static Path older(Path log) {
    return log.resolveSibling(log.getFileName() + ".1");
  }

  /**
   * Connects to QEMU's console socket (which it opens before its QMP socket, so it is there once
   * QMP answers) and copies into {@code log} from a thread of its own until QEMU closes it.
   */
  static ConsoleLog follow(Path socketPath, Path file, String vm) throws VmmException {
    SocketChannel ch;
    try {
      ch = dev.kiln.host.UnixPeers.connect(socketPath);
    } catch (IOException e) {
      throw new VmmException("cannot read the console of " + vm + " (" + socketPath + "): " + e.getMessage(), e);
    }
    try {
      // Both names are the daemon's before QEMU could put anything (a FIFO a read would hang on) there.
      if (!Files.exists(older(file), LinkOption.NOFOLLOW_LINKS)) Files.createFile(older(file));
    } catch (IOException e) {
      // it was there after all (a race with the copy thread of a previous QEMU): the sticky directory keeps it the daemon's
    }
    ConsoleLog c = new ConsoleLog(ch);
    Thread.ofVirtual().name("console-" + vm).start(() -> c.copy(file, vm));
    return c;
  }

  private void copy(Path file, String vm) {
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    FileChannel out = null;
    try {
      out = fresh(file, Files.exists(file, LinkOption.NOFOLLOW_LINKS));
      while (socket.read(buf.clear()) >= 0) {
        buf.flip();
        while (buf.hasRemaining()) {
          if (out.size() >= CAP_BYTES / 2) {
            out.close();
            Files.move(file, older(file), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            out = fresh(file, false);
          }
          int room = (int) Math.min(buf.remaining(), CAP_BYTES / 2 - out.size());
          ByteBuffer part = buf.slice(buf.position(), room);
          while (part.hasRemaining()) out.write(part);
          buf.position(buf.position() + room);
        }
      }
    } catch (IOException e) {
      if (socket.isOpen()) log.debug("console of vm={} no longer copied: {}", vm, e.toString());
    } finally {
      close();
      if (out != null) {
        try {
          out.close();
        } catch (IOException ignored) {
          // nothing more was to be written
        }
      }
    }
  }

  /**
   * The log to append to: a file of the daemon's own. What is there is kept (a resumed VM goes on
   * where its last QEMU stopped) if it is a regular file; anything else there goes first.
   */
  private static FileChannel fresh(Path file, boolean keep) throws IOException {
    if (!keep || !Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS) || (Integer) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS) != 0) {
      Files.deleteIfExists(file);
      return FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }
    return FileChannel.open(file, StandardOpenOption.APPEND, LinkOption.NOFOLLOW_LINKS);
  }

  /** The last {@code max} bytes the guest printed, across both halves. */
  public static byte[] tail(Path log, int max) {
    byte[] recent = UntrustedFiles.tail(log, max);
    if (recent.length >= max) return recent;
    byte[] before = UntrustedFiles.tail(older(log), max - recent.length);
    byte[] all = new byte[before.length + recent.length];
    System.arraycopy(before, 0, all, 0, before.length);
    System.arraycopy(recent, 0, all, before.length, recent.length);
    return all;
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException ignored) {
      // closed is what we wanted
    }
  }
}
