package dev.kiln.host;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Checks who is at the other end of a Unix socket the daemon connected to in a VM's run directory.
 * QEMU makes those sockets and may replace them (with a link to another VM's, say); the kernel's
 * word on the peer (SO_PEERCRED) cannot be forged, so a socket is used only if the process behind
 * it runs as the uid the directory was given to (its group, see VmmIdentities).
 */
public final class UnixPeers {
  private UnixPeers() {}

  /**
   * Connects to a Unix socket in a VM's run directory and checks its peer ({@link #verify}); the
   * channel is closed again if either fails. The connect's own exceptions (refused, no such file)
   * come through as they are, so a caller can tell "not listening yet" from "refused".
   */
  public static java.nio.channels.SocketChannel connect(Path socket) throws IOException {
    SocketChannel ch = SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
    try {
      ch.connect(java.net.UnixDomainSocketAddress.of(socket));
      verify(ch, socket);
      return ch;
    } catch (IOException e) {
      ch.close();
      throw e;
    }
  }

  /** Throws unless the peer runs as the run directory's VM uid; a directory given to no uid (QEMU as the daemon's user) is not checked. */
  public static void verify(SocketChannel ch, Path socket) throws IOException {
    Path dir = socket.toAbsolutePath().getParent();
    int owner = (Integer) Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    int group = (Integer) Files.getAttribute(dir, "unix:gid", LinkOption.NOFOLLOW_LINKS);
    int mode = (Integer) Files.getAttribute(dir, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    if (owner != 0 || group == 0 || (mode & 01000) == 0) return;
    var peer = ch.getOption(jdk.net.ExtendedSocketOptions.SO_PEERCRED);
    int uid = uidOf(peer.user().getName());
    if (uid != group) {
      throw new IOException(socket + " is served by uid " + peer.user().getName() + ", not by its VM's uid " + group + ": refused");
    }
  }

  /** The JDK names a peer by its account, or by its number when it has none (VM uids have none). */
  private static int uidOf(String name) throws IOException {
    if (name.matches("\\d{1,10}")) return (int) Long.parseLong(name);
    var r = CommandRunner.runAllowingFailure(java.util.List.of("id", "-u", name), java.time.Duration.ofSeconds(5));
    String out = r.stdout().strip();
    if (r.exitCode() != 0 || !out.matches("\\d{1,10}")) throw new IOException("the peer's user " + name + " cannot be resolved");
    return (int) Long.parseLong(out);
  }
}
