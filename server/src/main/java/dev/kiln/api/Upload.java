package dev.kiln.api;

import dev.kiln.sandbox.SandboxOperations;
import java.io.IOException;
import java.io.InputStream;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A file written into a sandbox from a request, hashed as it streams through: what the audit
 * trail records of an upload (docs/adr/0023), whichever API it came by.
 */
public record Upload(String path, long bytes, String sha256) {
  public static Upload write(SandboxOperations ops, String sandboxId, String path, int mode, InputStream content) throws IOException, InterruptedException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
    try (InputStream hashed = new DigestInputStream(content, digest)) {
      long written = ops.writeFile(sandboxId, path, mode, hashed);
      return new Upload(path, written, HexFormat.of().formatHex(digest.digest()));
    }
  }

  /** Its path, size and sha256, as an audit record's particulars. */
  public Map<String, Object> detail() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("path", path);
    m.put("bytes", bytes);
    m.put("sha256", sha256);
    return m;
  }

  public void audit(Exchange x) {
    detail().forEach(x::audit);
  }
}
