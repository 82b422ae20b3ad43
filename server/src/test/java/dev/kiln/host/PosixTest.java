package dev.kiln.host;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Needs root for lchown to another owner. */
class PosixTest {
  @TempDir Path tmp;

  @Test
  void lchownChangesTheLinkNotItsTarget() throws IOException {
    Path target = Files.writeString(tmp.resolve("target"), "t");
    Path link = Files.createSymbolicLink(tmp.resolve("link"), target);
    Posix.lchown(link, 4242, 4343);
    assertEquals(4242, Files.getAttribute(link, "unix:uid", NOFOLLOW_LINKS));
    assertEquals(4343, Files.getAttribute(link, "unix:gid", NOFOLLOW_LINKS));
    assertEquals(0, Files.getAttribute(target, "unix:uid", NOFOLLOW_LINKS));
  }

  @Test
  void xattrRoundTrip() throws IOException {
    Path f = Files.writeString(tmp.resolve("f"), "x");
    byte[] value = {0, 1, (byte) 0xff, 'k'};
    Posix.lsetxattr(f, "user.kiln", value);
    assertArrayEquals(value, Posix.lgetxattr(f, "user.kiln").orElseThrow());
    assertEquals(Optional.empty(), Posix.lgetxattr(f, "user.absent").map(String::new));
  }

  @Test
  void utimensatNoFollowSetsTheLinkTime() throws IOException {
    Path target = Files.writeString(tmp.resolve("target"), "t");
    Path link = Files.createSymbolicLink(tmp.resolve("link"), target);
    Instant before = Files.getLastModifiedTime(target).toInstant();
    Posix.utimensatNoFollow(link, -1_500_000_000L);
    assertEquals(Instant.parse("1969-12-31T23:59:58.500Z"), Files.getLastModifiedTime(link, NOFOLLOW_LINKS).toInstant());
    assertEquals(before, Files.getLastModifiedTime(target).toInstant());
  }

  @Test
  void mknodMakesAFifo() throws IOException {
    Path fifo = tmp.resolve("fifo");
    Posix.mknod(fifo, 0010000 | 0600, 0);
    assertTrue(Files.readAttributes(fifo, BasicFileAttributes.class, NOFOLLOW_LINKS).isOther());
  }

  @Test
  void makedevMatchesGlibc() {
    assertEquals(259L, Posix.makedev(1, 3));
    assertEquals(0x100056723489L, Posix.makedev(0x1234, 0x56789));
  }

  @Test
  void symlinkKeepsTheTargetByteForByte() throws IOException {
    Path link = tmp.resolve("odd");
    Posix.symlink("a//b/", link);
    assertEquals("a//b/", Files.readSymbolicLink(link).toString());
  }

  @Test
  void failureNamesCallPathAndErrno() {
    Path missing = tmp.resolve("missing");
    var e = assertThrows(IOException.class, () -> Posix.lchown(missing, 0, 0));
    assertEquals("lchown " + missing + ": No such file or directory (ENOENT, errno 2)", e.getMessage());
    var x = assertThrows(IOException.class, () -> Posix.lsetxattr(missing, "user.a", new byte[] {1}));
    assertEquals("lsetxattr user.a " + missing + ": No such file or directory (ENOENT, errno 2)", x.getMessage());
  }

  @Test
  void nonAsciiPathReachesTheFileFilesCreated() throws IOException {
    assumeTrue("UTF-8".equals(System.getProperty("sun.jnu.encoding")), "the JVM runs in a UTF-8 locale");
    Path f = Files.writeString(tmp.resolve("grüße"), "x");
    Posix.lsetxattr(f, "user.ü", "ü".getBytes(StandardCharsets.UTF_8));
    assertArrayEquals("ü".getBytes(StandardCharsets.UTF_8), Posix.lgetxattr(f, "user.ü").orElseThrow());
  }
}
