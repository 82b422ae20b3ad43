package dev.kiln.blob;

import dev.kiln.blob.ObjectStoreException.Problem;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * What an upload needs to know before it starts, from one read of the file: its size, its SHA-256
 * (recorded with the object, which S3 takes only at the start) and the MD5 of each part (sent as
 * Content-MD5, so the store refuses a part whose bytes are not the ones read here: a file that
 * changes between this read and the upload fails the upload instead of being stored under a
 * checksum it does not have).
 */
record FileDigest(long size, String sha256, List<String> partMd5s) {
  static FileDigest of(Path file, long partSize) {
    MessageDigest sha = VerifiedWrite.sha256();
    List<String> md5s = new ArrayList<>();
    long size = 0;
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[1 << 16];
      MessageDigest md5 = md5();
      long inPart = 0;
      for (int n; (n = in.read(buf)) >= 0; ) {
        int off = 0;
        while (off < n) {
          int take = (int) Math.min(n - off, partSize - inPart);
          md5.update(buf, off, take);
          sha.update(buf, off, take);
          off += take;
          inPart += take;
          size += take;
          if (inPart == partSize) {
            md5s.add(Base64.getEncoder().encodeToString(md5.digest()));
            inPart = 0;
          }
        }
      }
      if (inPart > 0 || size == 0) md5s.add(Base64.getEncoder().encodeToString(md5.digest()));
    } catch (IOException e) {
      throw new ObjectStoreException(Problem.LOCAL_FILE, "cannot read " + file + " to upload it: " + Messages.of(e), e);
    }
    return new FileDigest(size, ObjectInfo.hex(sha.digest()), List.copyOf(md5s));
  }

  private static MessageDigest md5() {
    try {
      return MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no MD5", e);
    }
  }
}
