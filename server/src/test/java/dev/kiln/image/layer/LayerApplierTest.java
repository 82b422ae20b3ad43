package dev.kiln.image.layer;

import static dev.kiln.image.layer.TestLayer.header;
import static java.nio.file.LinkOption.NOFOLLOW_LINKS;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.host.Posix;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;
import java.util.Random;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Needs root, as applying real layers does: owners, devices and trusted.* xattrs. */
class LayerApplierTest {
  // <sys/stat.h>
  private static final int S_IFMT = 0170000;
  private static final int S_IFIFO = 0010000;
  private static final int S_IFCHR = 0020000;
  /** security.capability v2 (VFS_CAP_REVISION_2, effective) granting cap_net_raw, as `setcap cap_net_raw+ep` writes it. */
  private static final byte[] CAP_NET_RAW = {1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

  @TempDir Path tmp;
  private Path rootfs;

  @BeforeEach
  void createRootfs() throws IOException {
    rootfs = Files.createDirectory(tmp.resolve("rootfs"));
  }

  private static int attr(Path p, String name) throws IOException {
    return (int) Files.getAttribute(p, "unix:" + name, NOFOLLOW_LINKS);
  }

  private static Instant mtime(Path p) throws IOException {
    return Files.getLastModifiedTime(p, NOFOLLOW_LINKS).toInstant();
  }

  private static TarArchiveEntry owned(TarArchiveEntry e, int uid, int gid) {
    e.setUserId(uid);
    e.setGroupId(gid);
    return e;
  }

  @Test
  void filesAndDirectoriesKeepModesOwnersAndTimes() throws IOException {
    Instant dirTime = Instant.parse("1999-12-31T23:59:59Z");
    var usr = header("usr/", TarConstants.LF_DIR, 0755);
    usr.setModTime(FileTime.from(dirTime));
    var notes = owned(header("home/u/notes", TarConstants.LF_NORMAL, 0600), 1234, 5678);
    // sub-second, in the 100 ns units commons-compress writes PAX times with
    notes.setModTime(FileTime.from(Instant.parse("2020-02-02T02:02:02.1234567Z")));
    LayerStats stats = new TestLayer()
        .add(usr)
        .add(header("usr/bin/su", TarConstants.LF_NORMAL, 04755), "su".getBytes(StandardCharsets.UTF_8))
        .add(owned(header("usr/bin/wall", TarConstants.LF_NORMAL, 02755), 0, 5), "wall".getBytes(StandardCharsets.UTF_8))
        .add(header("tmp/", TarConstants.LF_DIR, 01777))
        .add(notes, "secret".getBytes(StandardCharsets.UTF_8))
        .applyTo(rootfs);

    assertEquals(new LayerStats(5, 12, 0), stats);
    assertEquals(04755, attr(rootfs.resolve("usr/bin/su"), "mode") & 07777, "setuid survives the chown");
    assertEquals(02755, attr(rootfs.resolve("usr/bin/wall"), "mode") & 07777);
    assertEquals(5, attr(rootfs.resolve("usr/bin/wall"), "gid"));
    assertEquals(01777, attr(rootfs.resolve("tmp"), "mode") & 07777);
    Path n = rootfs.resolve("home/u/notes");
    assertEquals("secret", Files.readString(n));
    assertEquals(0600, attr(n, "mode") & 07777);
    assertEquals(1234, attr(n, "uid"));
    assertEquals(5678, attr(n, "gid"));
    assertEquals(Instant.parse("2020-02-02T02:02:02.1234567Z"), mtime(n), "PAX mtime keeps its fraction");
    assertEquals(TestLayer.MTIME, mtime(rootfs.resolve("usr/bin/su")));
    assertEquals(dirTime, mtime(rootfs.resolve("usr")), "directory time set after its children were written");
    assertTrue(Files.isDirectory(rootfs.resolve("home/u")), "missing parent directories are created");
  }

  @Test
  void entriesReplaceWhatLowerLayersLeft() throws IOException {
    Path outsideTarget = Files.writeString(tmp.resolve("target"), "untouched");
    new TestLayer()
        .dir("d/").file("d/child", "lower")
        .dir("x/").file("x/inner", "lower")
        .file("y", "lower file")
        .symlink("z", outsideTarget.toString())
        .applyTo(rootfs);
    new TestLayer()
        .add(header("d/", TarConstants.LF_DIR, 0700))
        .file("x", "file now")
        .dir("y/")
        .file("z", "replaced link")
        .applyTo(rootfs);

    assertEquals("lower", Files.readString(rootfs.resolve("d/child")), "a directory entry keeps an existing directory");
    assertEquals(0700, attr(rootfs.resolve("d"), "mode") & 07777, "and updates its mode");
    assertEquals("file now", Files.readString(rootfs.resolve("x")), "a directory is removed with its children for a file");
    assertTrue(Files.isDirectory(rootfs.resolve("y"), NOFOLLOW_LINKS));
    assertFalse(Files.isSymbolicLink(rootfs.resolve("z")));
    assertEquals("replaced link", Files.readString(rootfs.resolve("z")));
    assertEquals("untouched", Files.readString(outsideTarget), "the old symlink's target was not written through");
  }

  @Test
  void dotSlashNamesAndTheRootEntry() throws IOException {
    int rootMode = attr(rootfs, "mode");
    LayerStats stats = new TestLayer()
        .add(header("./", TarConstants.LF_DIR, 0700))
        .file("./etc/hostname", "kiln")
        .applyTo(rootfs);
    assertEquals("kiln", Files.readString(rootfs.resolve("etc/hostname")));
    assertEquals(rootMode, attr(rootfs, "mode"), "the rootfs directory belongs to the caller");
    assertEquals(2, stats.entries());
  }

  @Test
  void symlinksAreStoredVerbatimAndOwned() throws IOException {
    new TestLayer()
        .symlink("bin", "usr/bin")
        .add(owned(TestLayer.link("passwd", TarConstants.LF_SYMLINK, "/etc/passwd"), 42, 43))
        .symlink("odd", "a//b/")
        .applyTo(rootfs);
    assertEquals("usr/bin", Files.readSymbolicLink(rootfs.resolve("bin")).toString());
    Path passwd = rootfs.resolve("passwd");
    assertEquals("/etc/passwd", Files.readSymbolicLink(passwd).toString());
    assertEquals(42, attr(passwd, "uid"), "lchown, not chown of the host's /etc/passwd");
    assertEquals(43, attr(passwd, "gid"));
    assertEquals(TestLayer.MTIME, mtime(passwd));
    assertEquals("a//b/", Files.readSymbolicLink(rootfs.resolve("odd")).toString());
  }

  @Test
  void hardlinksShareTheInode() throws IOException {
    new TestLayer().file("bin/busybox", "bb").hardlink("bin/sh", "bin/busybox").applyTo(rootfs);
    Path sh = rootfs.resolve("bin/sh");
    assertEquals(Files.getAttribute(rootfs.resolve("bin/busybox"), "unix:ino"), Files.getAttribute(sh, "unix:ino"));
    assertEquals(2, attr(sh, "nlink"));
  }

  @Test
  void devicesAndFifos() throws IOException {
    var nul = header("dev/null", TarConstants.LF_CHR, 0666);
    nul.setDevMajor(1);
    nul.setDevMinor(3);
    new TestLayer().add(nul).add(header("run/fifo", TarConstants.LF_FIFO, 0620)).applyTo(rootfs);

    Path dev = rootfs.resolve("dev/null");
    assertEquals(S_IFCHR | 0666, attr(dev, "mode"), "a character device, mode not cut by the umask");
    assertEquals(259L, Files.getAttribute(dev, "unix:rdev", NOFOLLOW_LINKS), "makedev(1, 3)");
    assertEquals(S_IFIFO | 0620, attr(rootfs.resolve("run/fifo"), "mode"));
  }

  @Test
  void xattrsFromPaxHeaders() throws IOException {
    var ping = header("bin/ping", TarConstants.LF_NORMAL, 0755);
    ping.addPaxHeader("SCHILY.xattr.security.capability", new String(CAP_NET_RAW, StandardCharsets.UTF_8));
    ping.addPaxHeader("SCHILY.xattr.user.origin", "iputils");
    ping.addPaxHeader("SCHILY.xattr.trusted.overlay.x", "t");
    ping.addPaxHeader("SCHILY.xattr.security.selinux", "system_u:object_r:ping_exec_t:s0");
    var dir = header("etc/", TarConstants.LF_DIR, 0755);
    dir.addPaxHeader("SCHILY.xattr.user.dir", "yes");
    new TestLayer().add(dir).add(ping, "ping".getBytes(StandardCharsets.UTF_8)).applyTo(rootfs);

    Path p = rootfs.resolve("bin/ping");
    assertArrayEquals(CAP_NET_RAW, Posix.lgetxattr(p, "security.capability").orElseThrow(), "set after the chown that clears it");
    assertArrayEquals("iputils".getBytes(StandardCharsets.UTF_8), Posix.lgetxattr(p, "user.origin").orElseThrow());
    assertArrayEquals(new byte[] {'t'}, Posix.lgetxattr(p, "trusted.overlay.x").orElseThrow());
    assertEquals(Optional.empty(), Posix.lgetxattr(p, "security.selinux").map(String::new), "host policy, skipped");
    assertArrayEquals("yes".getBytes(StandardCharsets.UTF_8), Posix.lgetxattr(rootfs.resolve("etc"), "user.dir").orElseThrow());
  }

  @Test
  void xattrValueThatIsNotUtf8IsSkippedNotGarbled() throws IOException {
    // PAX records "<length> <key>=<value>\n", written by hand: commons-compress only writes UTF-8 values
    byte[] records = concat(paxRecord("SCHILY.xattr.user.bin", new byte[] {(byte) 0x80}), paxRecord("SCHILY.xattr.user.ok", "fine".getBytes(StandardCharsets.UTF_8)));
    new TestLayer()
        .add(header("PaxHeaders/f", TarConstants.LF_PAX_EXTENDED_HEADER_LC, 0644), records)
        .file("f", "content")
        .applyTo(rootfs);
    Path f = rootfs.resolve("f");
    assertEquals("content", Files.readString(f));
    assertEquals(Optional.empty(), Posix.lgetxattr(f, "user.bin").map(Arrays::toString));
    assertArrayEquals("fine".getBytes(StandardCharsets.UTF_8), Posix.lgetxattr(f, "user.ok").orElseThrow(), "the header was read");
  }

  private static byte[] paxRecord(String key, byte[] value) {
    byte[] body = concat((" " + key + "=").getBytes(StandardCharsets.UTF_8), value, new byte[] {'\n'});
    int length = body.length + 2; // two length digits, as these records are short
    if (length > 99) throw new IllegalArgumentException("record too long for two length digits: " + key);
    return concat(Integer.toString(length).getBytes(StandardCharsets.UTF_8), body);
  }

  private static byte[] concat(byte[]... parts) {
    var out = new ByteArrayOutputStream();
    for (byte[] p : parts) out.writeBytes(p);
    return out.toByteArray();
  }

  @Test
  void whiteoutsDeleteFromLowerLayers() throws IOException {
    new TestLayer().file("a/file", "x").file("a/dir/inner", "y").file("a/keep", "z").applyTo(rootfs);
    LayerStats stats = new TestLayer().file("a/.wh.file", "").file("a/.wh.dir", "").applyTo(rootfs);

    assertEquals(new LayerStats(2, 0, 2), stats);
    assertFalse(Files.exists(rootfs.resolve("a/file"), NOFOLLOW_LINKS));
    assertFalse(Files.exists(rootfs.resolve("a/dir"), NOFOLLOW_LINKS));
    assertTrue(Files.exists(rootfs.resolve("a/keep")));
    assertFalse(Files.exists(rootfs.resolve("a/.wh.file"), NOFOLLOW_LINKS), "whiteouts are never written");
  }

  @Test
  void opaqueDirectoryKeepsOnlyThisLayersChildren() throws IOException {
    new TestLayer().file("d/old", "1").file("d/sub/old", "2").file("outside", "3").applyTo(rootfs);
    new TestLayer()
        .dir("d/")
        .file("d/new", "before the marker")
        .dir("d/sub/")
        .file("d/sub/new", "also before")
        .file("d/.wh..wh..opq", "")
        .file("d/after", "after the marker")
        .applyTo(rootfs);

    assertEquals("before the marker", Files.readString(rootfs.resolve("d/new")));
    assertEquals("also before", Files.readString(rootfs.resolve("d/sub/new")));
    assertEquals("after the marker", Files.readString(rootfs.resolve("d/after")));
    assertFalse(Files.exists(rootfs.resolve("d/old")));
    assertFalse(Files.exists(rootfs.resolve("d/sub/old")), "lower children of a kept subdirectory go too");
    assertTrue(Files.exists(rootfs.resolve("outside")));
    assertFalse(Files.exists(rootfs.resolve("d/.wh..wh..opq"), NOFOLLOW_LINKS));
  }

  /** The message of the LayerException that applying {@code layer} must throw. */
  private String refusal(TestLayer layer) {
    return assertThrows(LayerException.class, () -> layer.applyTo(rootfs)).getMessage();
  }

  @Test
  void namesOutsideTheRootfsAreRefused() {
    assertEquals("layer entry \"a/../../etc/kiln\": name has a \"..\" component", refusal(new TestLayer().file("a/../../etc/kiln", "x")));
    assertEquals("layer entry \"/etc/kiln\": name is absolute", refusal(new TestLayer().file("/etc/kiln", "x")));
  }

  @Test
  void whiteoutOfDotOrDotDotIsRefused() throws IOException {
    new TestLayer().file("a/b/keep", "x").applyTo(rootfs);
    assertEquals("layer entry \"a/b/.wh...\": whiteout of \"..\" names no file", refusal(new TestLayer().file("a/b/.wh...", "")));
    assertEquals("layer entry \"a/b/.wh..\": whiteout of \".\" names no file", refusal(new TestLayer().file("a/b/.wh..", "")));
    assertTrue(Files.exists(rootfs.resolve("a/b/keep")));
  }

  @Test
  void symlinkedDirectoriesResolveInsideTheRootfs() throws IOException {
    Path host = Path.of("/kiln-escape-test");
    assertFalse(Files.exists(host, NOFOLLOW_LINKS), host + " exists before the test; remove it");
    try {
      new TestLayer().symlink("evil", "/").symlink("evil2", "../../../..").applyTo(rootfs);
      new TestLayer().file("evil/kiln-escape-test", "one").file("evil2/kiln-escape-test", "two").applyTo(rootfs);

      assertFalse(Files.exists(host, NOFOLLOW_LINKS), "a layer wrote to the host's /");
      assertEquals("two", Files.readString(rootfs.resolve("kiln-escape-test")));
    } finally {
      Files.deleteIfExists(host);
    }
  }

  @Test
  void whiteoutsThroughSymlinksStayInside() throws IOException {
    Path victim = Files.writeString(Files.createDirectory(tmp.resolve("outside")).resolve("victim"), "keep me");
    new TestLayer().symlink("up", "../outside").symlink("abs", tmp.resolve("outside").toString()).applyTo(rootfs);
    new TestLayer().file("up/.wh.victim", "").file("abs/.wh.victim", "").file("up/.wh..wh..opq", "").applyTo(rootfs);
    assertEquals("keep me", Files.readString(victim));
  }

  @Test
  void hardlinkThroughSymlinkResolvesInsideTheRootfs() throws IOException {
    new TestLayer().symlink("etcl", "/etc").applyTo(rootfs);
    assertEquals("layer entry \"pw\": hardlink target \"etcl/passwd\" does not exist", refusal(new TestLayer().hardlink("pw", "etcl/passwd")));
    assertFalse(Files.exists(rootfs.resolve("pw"), NOFOLLOW_LINKS));
  }

  @Test
  void hardlinkOutOfTheRootfsOrToADirectoryIsRefused() {
    assertEquals("layer entry \"pw\": hardlink target \"../../etc/passwd\" has a \"..\" component", refusal(new TestLayer().hardlink("pw", "../../etc/passwd")));
    assertEquals("layer entry \"l\": hardlink target \"d\" is a directory", refusal(new TestLayer().dir("d/").hardlink("l", "d")));
  }

  @Test
  void plainGzipAndZstdLayersAreDetected() throws IOException {
    var layer = new TestLayer().file("etc/os-release", "ID=kiln");
    byte[] tar = layer.tar();
    for (byte[] blob : new byte[][] {tar, layer.gzip(), layer.zstd()}) {
      Path root = Files.createTempDirectory(tmp, "rootfs");
      LayerStats stats = LayerApplier.apply(root, new ByteArrayInputStream(blob));
      assertEquals("ID=kiln", Files.readString(root.resolve("etc/os-release")), Compression.detect(blob).name());
      assertEquals(new LayerStats(1, 7, 0), stats);
    }
  }

  @Test
  void truncatedGzipFailsInsteadOfHanging() {
    byte[] noise = new byte[256 * 1024];
    new Random(42).nextBytes(noise);
    byte[] gz = new TestLayer().add(header("big", TarConstants.LF_NORMAL, 0644), noise).gzip();
    assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
      assertThrows(IOException.class, () -> LayerApplier.apply(rootfs, new ByteArrayInputStream(Arrays.copyOf(gz, gz.length / 2))));
      // without its trailer (CRC32 and length) the tar is complete: only reading the blob to its end notices
      Path other = Files.createDirectory(tmp.resolve("other"));
      assertThrows(IOException.class, () -> LayerApplier.apply(other, new ByteArrayInputStream(Arrays.copyOf(gz, gz.length - 8))));
    });
  }

  @Test
  void tarWithoutEndMarkerIsAcceptedButCutContentIsNot() throws IOException {
    // umoci 0.4's insert stops right after the last file's content, as Go's archive/tar accepts.
    byte[] tar = new TestLayer().file("a", "first").file("b", "x".repeat(700)).tar();
    int endOfContent = 512 + 512 + 512 + 700; // header a, content a (padded), header b, content b
    LayerApplier.apply(rootfs, new ByteArrayInputStream(Arrays.copyOf(tar, endOfContent)));
    assertEquals("x".repeat(700), Files.readString(rootfs.resolve("b")));
    Path other = Files.createDirectory(tmp.resolve("cut"));
    var e = assertThrows(IOException.class, () -> LayerApplier.apply(other, new ByteArrayInputStream(Arrays.copyOf(tar, endOfContent - 100))));
    assertTrue(e.getMessage().contains("\"b\""), e.getMessage());
  }
}
