package dev.kiln.image.layer;

import static java.nio.file.LinkOption.NOFOLLOW_LINKS;

import dev.kiln.host.AtomicFiles;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Applies one OCI image layer onto a root filesystem directory, as a container runtime unpacks
 * it: entries in tar order, {@code dir/.wh.name} deletes {@code dir/name} of the layers below,
 * {@code dir/.wh..wh..opq} empties {@code dir} of everything the layers below put there.
 *
 * <p>The layer is hostile. Names that are absolute or contain ".." are refused, and every path is
 * resolved inside the rootfs as if it were the root ({@link RootedPath}), so no entry creates,
 * changes or deletes anything outside it.
 */
public final class LayerApplier {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LayerApplier.class);
  private static final String WHITEOUT = ".wh.";
  private static final String OPAQUE = ".wh..wh..opq";

  private final RootedPath rooted;
  private final EntryWriter writer;
  /**
   * Every path this layer wrote, with its directories: an opaque marker deletes the rest, and
   * may come after entries of its own layer inside the directory it empties.
   */
  private final Set<Path> fromThisLayer = new HashSet<>();
  private long entries;
  private long bytes;
  private long whiteouts;

  private LayerApplier(Path root) {
    this.rooted = new RootedPath(root);
    this.writer = new EntryWriter(rooted);
  }

  /**
   * Applies {@code layer}, a tar blob as stored in a registry (gzip, zstd or uncompressed, told
   * apart by its first bytes), onto the existing directory {@code rootfs}. Reads the blob to its
   * end, so that a compressed stream's checksum is verified and a digest computed by the caller
   * covers every byte, and closes it. Needs root for owners and devices. On failure the rootfs is
   * left partly written and should be discarded.
   */
  public static LayerStats apply(Path rootfs, InputStream layer) throws IOException, LayerException {
    // 64 KiB: a blob comes off the network or disk, where small reads cost a call each
    try (var raw = new BufferedInputStream(layer, 64 * 1024);
        var tarBytes = new EndAwareStream(Compression.detect(peek(raw)).decompress(raw));
        var tar = new TarArchiveInputStream(tarBytes)) {
      var applier = new LayerApplier(rootfs.toRealPath());
      for (TarArchiveEntry entry = nextEntry(tar, tarBytes); entry != null; entry = nextEntry(tar, tarBytes)) {
        applier.applyEntry(entry, tar);
      }
      applier.writer.finish();
      // the tar's end marker is not the blob's end: record padding, the gzip or zstd trailer
      tarBytes.transferTo(OutputStream.nullOutputStream());
      raw.transferTo(OutputStream.nullOutputStream());
      return new LayerStats(applier.entries, applier.bytes, applier.whiteouts);
    }
  }

  /**
   * Creates {@code dir} (absolute, as an image's WorkingDir) and its parents inside the rootfs if
   * they are missing, resolving symlinks the way the rootfs itself would: {@code docker run}
   * creates the working directory too, and images rely on it.
   */
  public static void createDirectories(Path rootfs, String dir) throws IOException {
    RootedPath rooted = new RootedPath(rootfs.toRealPath());
    String prefix = "";
    for (String part : dir.split("/")) {
      if (part.isEmpty() || part.equals(".")) continue;
      prefix = prefix.isEmpty() ? part : prefix + "/" + part;
      Path p = rooted.resolve(EntryName.of(prefix));
      if (!Files.exists(p, NOFOLLOW_LINKS)) Files.createDirectory(p);
    }
  }

  /**
   * The next entry, or null at the end. A tar that simply stops after its last entry's content,
   * without padding or the end-of-archive blocks, is accepted as Go's archive/tar (and so Docker
   * and containerd) accept it: umoci 0.4's {@code insert} writes layers like that. Every entry's
   * content was checked to be complete when it was written, so nothing can be missing but padding.
   */
  private static TarArchiveEntry nextEntry(TarArchiveInputStream tar, EndAwareStream bytes) throws IOException {
    try {
      return tar.getNextEntry();
    } catch (IOException e) {
      if (bytes.ended()) {
        log.warn("layer ends without tar padding or end-of-archive marker; accepted like Docker accepts it: {}", e.getMessage());
        return null;
      }
      throw e;
    }
  }

  /** Remembers whether the stream below reached its end, to tell a missing tar trailer from damage. */
  private static final class EndAwareStream extends java.io.FilterInputStream {
    private boolean ended;

    EndAwareStream(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      ended |= b < 0;
      return b;
    }

    @Override
    public int read(byte[] buf, int off, int len) throws IOException {
      int n = super.read(buf, off, len);
      ended |= n < 0;
      return n;
    }

    /** Skips by reading, so that reaching the end while skipping padding is noticed too. */
    @Override
    public long skip(long n) throws IOException {
      byte[] sink = new byte[8192];
      long total = 0;
      while (total < n) {
        int r = read(sink, 0, (int) Math.min(sink.length, n - total));
        if (r < 0) break;
        total += r;
      }
      return total;
    }

    boolean ended() {
      return ended;
    }
  }

  /** The blob's first bytes, left in the stream. */
  private static byte[] peek(BufferedInputStream raw) throws IOException {
    raw.mark(Compression.MAGIC_LENGTH);
    byte[] magic = raw.readNBytes(Compression.MAGIC_LENGTH);
    raw.reset();
    return magic;
  }

  private void applyEntry(TarArchiveEntry entry, InputStream content) throws IOException {
    entries++;
    EntryName name = EntryName.of(entry.getName());
    // The rootfs directory itself belongs to the caller; containerd ignores such entries too.
    if (name.isRoot()) return;
    try {
      Path path = rooted.resolve(name);
      if (name.base().equals(OPAQUE)) {
        whiteouts++;
        keepOnlyThisLayer(path.getParent());
      } else if (name.base().startsWith(WHITEOUT)) {
        whiteouts++;
        AtomicFiles.deleteTree(path.resolveSibling(hidden(name)));
      } else {
        bytes += writer.write(entry, path, content);
        markWritten(path);
      }
    } catch (LayerException e) {
      throw e;
    } catch (IOException e) {
      throw new LayerException(entry.getName(), e.toString(), e);
    }
  }

  /** Marks {@code path} and the directories above it, up to the first one already marked. */
  private void markWritten(Path path) {
    Path p = path;
    while (!p.equals(rooted.root()) && fromThisLayer.add(p)) p = p.getParent();
  }

  /** The name a whiteout hides; one naming the directory itself or its parent is refused. */
  private static String hidden(EntryName whiteout) throws LayerException {
    String hidden = whiteout.base().substring(WHITEOUT.length());
    if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
      throw new LayerException(whiteout.entry(), "whiteout of \"" + hidden + "\" names no file");
    }
    return hidden;
  }

  /** Deletes everything under {@code dir} that this layer did not write, at any depth. */
  private void keepOnlyThisLayer(Path dir) throws IOException {
    if (!Files.isDirectory(dir, NOFOLLOW_LINKS)) return;
    try (DirectoryStream<Path> children = Files.newDirectoryStream(dir)) {
      for (Path child : children) {
        if (!fromThisLayer.contains(child)) {
          AtomicFiles.deleteTree(child);
        } else if (Files.isDirectory(child, NOFOLLOW_LINKS)) {
          keepOnlyThisLayer(child);
        }
      }
    }
  }
}
