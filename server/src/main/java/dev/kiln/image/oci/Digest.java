package dev.kiln.image.oci;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** A content digest, {@code sha256:<64 hex>}: the only algorithm OCI registries use in practice. */
public record Digest(String hex) {
  private static final Pattern HEX = Pattern.compile("[0-9a-f]{64}");

  public Digest {
    if (!HEX.matcher(hex).matches()) throw new IllegalArgumentException("not a sha256 digest: '" + hex + "'");
  }

  public static Digest parse(String s) {
    if (s == null || !s.startsWith("sha256:")) throw new IllegalArgumentException("unsupported digest '" + s + "' (only sha256 is supported)");
    return new Digest(s.substring("sha256:".length()));
  }

  public static Digest of(byte[] content) {
    return new Digest(HexFormat.of().formatHex(sha256().digest(content)));
  }

  public static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  public static Digest of(MessageDigest finished) {
    return new Digest(HexFormat.of().formatHex(finished.digest()));
  }

  @Override
  public String toString() {
    return "sha256:" + hex;
  }

  /** The first 12 hex digits, as tools show layer ids. */
  public String shortForm() {
    return hex.substring(0, 12);
  }
}
