package dev.kiln.image.layer;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import dev.kiln.host.AtomicFiles;
import dev.kiln.host.Posix;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one non-whiteout tar entry at its resolved path: the file, directory, symlink, hardlink,
 * device or FIFO, then its owner, mode, extended attributes and modification time. Every call
 * acts on the path itself, never through a symlink at it.
 */
final class EntryWriter {
  private static final Logger log = LoggerFactory.getLogger(EntryWriter.class);
  // <sys/stat.h>: file type bits for mknod
  private static final int S_IFIFO = 0010000;
  private static final int S_IFCHR = 0020000;
  private static final int S_IFBLK = 0060000;
  /** Permission bits with setuid, setgid and sticky; tar mode fields may also carry type bits. */
  private static final int MODE_BITS = 07777;
  /** uid_t and gid_t are 32 bits, and (uid_t) -1 means "leave unchanged" to chown. */
  private static final long MAX_ID = 0xFFFF_FFFEL;
  /** How GNU tar and Go's archive/tar (so Docker and BuildKit) store xattrs in PAX headers. */
  private static final String PAX_XATTR = "SCHILY.xattr.";

  private final RootedPath rooted;
  /**
   * Directory times are set once the layer is done: creating or deleting a child later in the
   * layer would move them again.
   */
  private final Map<Path, Long> directoryTimes = new HashMap<>();

  EntryWriter(RootedPath rooted) {
    this.rooted = rooted;
  }

  /** Writes {@code entry} at {@code path}, replacing what was there; returns the content bytes written. */
  long write(TarArchiveEntry entry, Path path, InputStream content) throws IOException {
    Files.createDirectories(path.getParent());
    if (entry.isDirectory()) {
      if (!Files.isDirectory(path, NOFOLLOW_LINKS)) {
        AtomicFiles.deleteTree(path);
        Files.createDirectory(path);
      }
      setMetadata(entry, path);
      directoryTimes.put(path, nanos(entry));
      return 0;
    }
    AtomicFiles.deleteTree(path);
    long written = 0;
    int perms = entry.getMode() & MODE_BITS;
    switch (entry.getLinkFlag()) {
      case TarConstants.LF_OLDNORM, TarConstants.LF_NORMAL, TarConstants.LF_CONTIG -> {
        try (OutputStream out = Files.newOutputStream(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
          written = content.transferTo(out);
        }
        if (written != entry.getSize()) {
          throw new LayerException(entry.getName(), "content ends after " + written + " of " + entry.getSize() + " bytes (truncated layer)");
        }
      }
      case TarConstants.LF_SYMLINK -> Posix.symlink(entry.getLinkName(), path);
      case TarConstants.LF_LINK -> {
        hardlink(entry, path);
        return 0;
      }
      case TarConstants.LF_CHR -> Posix.mknod(path, S_IFCHR | perms, Posix.makedev(entry.getDevMajor(), entry.getDevMinor()));
      case TarConstants.LF_BLK -> Posix.mknod(path, S_IFBLK | perms, Posix.makedev(entry.getDevMajor(), entry.getDevMinor()));
      case TarConstants.LF_FIFO -> Posix.mknod(path, S_IFIFO | perms, 0);
      default -> throw new LayerException(entry.getName(), "tar type '" + (char) entry.getLinkFlag() + "' is not a file type a layer may hold");
    }
    setMetadata(entry, path);
    Posix.utimensatNoFollow(path, nanos(entry));
    return written;
  }

  /** Gives the layer's directories their recorded times; call once after the last entry. */
  void finish() throws IOException {
    for (Map.Entry<Path, Long> d : directoryTimes.entrySet()) {
      // a later entry of the layer may have deleted or replaced the directory
      if (Files.isDirectory(d.getKey(), NOFOLLOW_LINKS)) Posix.utimensatNoFollow(d.getKey(), d.getValue());
    }
  }

  /**
   * A hardlink shares its target's inode, so the target's metadata is already in place. link(2)
   * on Linux does not follow a symlink given as the target, so a link to a symlink stays one.
   */
  private void hardlink(TarArchiveEntry entry, Path path) throws IOException {
    EntryName targetName = EntryName.linkTarget(entry.getName(), entry.getLinkName());
    Path target = rooted.resolve(targetName);
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(target, BasicFileAttributes.class, NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      throw new LayerException(entry.getName(), "hardlink target \"" + entry.getLinkName() + "\" does not exist");
    }
    if (attrs.isDirectory()) throw new LayerException(entry.getName(), "hardlink target \"" + entry.getLinkName() + "\" is a directory");
    Files.createLink(path, target);
  }

  /**
   * Owner first: chown clears setuid, setgid and security.capability, which the mode and the
   * xattrs then put back.
   */
  private void setMetadata(TarArchiveEntry entry, Path path) throws IOException {
    Posix.lchown(path, id(entry, "uid", entry.getLongUserId()), id(entry, "gid", entry.getLongGroupId()));
    if (!entry.isSymbolicLink()) {
      // chmod(2) on the path: the NOFOLLOW variant of Files opens the file first, which blocks on
      // a FIFO and runs a device driver's open. Never reached for a symlink, which has no mode.
      Files.setAttribute(path, "unix:mode", entry.getMode() & MODE_BITS);
    }
    for (Map.Entry<String, String> h : entry.getExtraPaxHeaders().entrySet()) {
      if (!h.getKey().startsWith(PAX_XATTR)) continue;
      String name = h.getKey().substring(PAX_XATTR.length());
      if (!kept(name)) continue;
      // commons-compress decodes every PAX value as UTF-8, so bytes that were not valid UTF-8
      // came back as U+FFFD and are lost; writing a guess would be worse than writing nothing.
      if (h.getValue().indexOf('\uFFFD') >= 0) {
        log.warn("layer entry \"{}\": xattr {} is not valid UTF-8 and cannot be restored exactly; skipped", entry.getName(), name);
        continue;
      }
      Posix.lsetxattr(path, name, h.getValue().getBytes(StandardCharsets.UTF_8));
    }
  }

  /**
   * security.capability keeps binaries such as ping working; user.* and trusted.* are the
   * image's own data. Other security.* (SELinux labels) and system.* (ACLs) are the host's
   * policy, not the image's, and are skipped.
   */
  private static boolean kept(String xattr) {
    return xattr.equals("security.capability") || xattr.startsWith("user.") || xattr.startsWith("trusted.");
  }

  private static int id(TarArchiveEntry entry, String what, long id) throws LayerException {
    if (id < 0 || id > MAX_ID) throw new LayerException(entry.getName(), what + " " + id + " is outside 0.." + MAX_ID);
    return (int) id;
  }

  private static long nanos(TarArchiveEntry entry) {
    return entry.getLastModifiedTime().to(TimeUnit.NANOSECONDS);
  }
}
