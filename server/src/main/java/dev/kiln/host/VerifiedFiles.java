package dev.kiln.host;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Files checked against their SHA-256 before use, each read once per process while it does not
 * change: the key includes the change time, which nobody can set back (not even the file's
 * owner), so a file written to since its check is read again. The oldest checks are forgotten
 * past {@link #REMEMBERED} (a file then is read again), so a long-lived daemon's set stays small.
 */
public final class VerifiedFiles {
  static final int REMEMBERED = 4096;
  private final Set<String> verified = Collections.synchronizedSet(Collections.newSetFromMap(new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > REMEMBERED;
    }
  }));

  /** Throws unless the file's content has {@code sha256}. */
  public void verify(Path file, String sha256) throws IOException {
    String key = key(file, sha256);
    if (verified.contains(key)) return;
    if (!Checksums.sha256(file).equals(sha256)) throw new IOException(file + " does not match its checksum");
    verified.add(key);
  }

  /** Records a file whose checksum the caller computed while writing it. */
  public void markVerified(Path file, String sha256) throws IOException {
    verified.add(key(file, sha256));
  }

  private static String key(Path file, String sha256) throws IOException {
    BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    return file + ":" + a.fileKey() + ":" + a.size() + ":" + Files.getAttribute(file, "unix:ctime", LinkOption.NOFOLLOW_LINKS) + ":" + sha256;
  }
}
