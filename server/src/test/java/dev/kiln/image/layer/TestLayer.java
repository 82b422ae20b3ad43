package dev.kiln.image.layer;

import com.github.luben.zstd.ZstdOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** A layer tar built in memory, entries in the order they are added. */
final class TestLayer {
  /** The time every entry gets unless a test sets its own. */
  static final Instant MTIME = Instant.parse("2001-09-09T01:46:40Z");

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);
  private boolean finished;

  TestLayer() {
    tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
    tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
  }

  /** A header of {@code type} (a TarConstants.LF_* flag), root-owned, at {@link #MTIME}. */
  static TarArchiveEntry header(String name, byte type, int mode) {
    var e = new TarArchiveEntry(name, type, true);
    e.setMode(mode);
    e.setModTime(MTIME.toEpochMilli());
    return e;
  }

  TestLayer add(TarArchiveEntry header, byte[] content) {
    try {
      header.setSize(content.length);
      tar.putArchiveEntry(header);
      tar.write(content);
      tar.closeArchiveEntry();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  TestLayer add(TarArchiveEntry header) {
    return add(header, new byte[0]);
  }

  TestLayer file(String name, String content) {
    return add(header(name, TarConstants.LF_NORMAL, 0644), content.getBytes(StandardCharsets.UTF_8));
  }

  TestLayer dir(String name) {
    return add(header(name, TarConstants.LF_DIR, 0755));
  }

  /** A symlink or hardlink header, root-owned, at {@link #MTIME}. */
  static TarArchiveEntry link(String name, byte type, String target) {
    var e = header(name, type, type == TarConstants.LF_SYMLINK ? 0777 : 0644);
    e.setLinkName(target);
    return e;
  }

  TestLayer symlink(String name, String target) {
    return add(link(name, TarConstants.LF_SYMLINK, target));
  }

  TestLayer hardlink(String name, String target) {
    return add(link(name, TarConstants.LF_LINK, target));
  }

  /** The finished, uncompressed tar; no entries may be added after. */
  byte[] tar() {
    try {
      if (!finished) tar.finish();
      finished = true;
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  byte[] gzip() {
    return compressed(GZIPOutputStream::new);
  }

  byte[] zstd() {
    return compressed(ZstdOutputStream::new);
  }

  private interface Compressor {
    OutputStream around(OutputStream out) throws IOException;
  }

  private byte[] compressed(Compressor compressor) {
    var out = new ByteArrayOutputStream();
    try (OutputStream c = compressor.around(out)) {
      c.write(tar());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Applies the uncompressed tar onto {@code rootfs}. */
  LayerStats applyTo(Path rootfs) throws IOException {
    return LayerApplier.apply(rootfs, new ByteArrayInputStream(tar()));
  }
}
