package dev.kiln.blob;

import java.util.HexFormat;
import java.util.regex.Pattern;

/** An object as it was put: its size in bytes and the SHA-256 of its content (64 lowercase hex digits). */
public record ObjectInfo(ObjectKey key, long size, String sha256) {
  private static final Pattern HEX = Pattern.compile("[a-f0-9]{64}");

  public ObjectInfo {
    if (size < 0) throw new IllegalArgumentException("object size must be >= 0, got " + size);
    if (sha256 == null || !HEX.matcher(sha256).matches()) throw new IllegalArgumentException("not a sha256 in hex: " + sha256);
  }

  static String hex(byte[] digest) {
    return HexFormat.of().formatHex(digest);
  }
}
