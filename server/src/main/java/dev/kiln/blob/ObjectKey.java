package dev.kiln.blob;

import java.util.regex.Pattern;

/**
 * The name of an object, {@code images/<id>/rootfs.ext4}: segments of letters, digits, {@code .},
 * {@code _} and {@code -} joined by {@code /}. A segment never starts with a dot, so no key is
 * {@code .} or {@code ..}, none is hidden, and the dot names stores and caches keep beside an
 * object (temp files, metadata) never collide with one; never absolute, no empty segment.
 * The same key is a path under a local root, so it is bounded like one.
 */
public record ObjectKey(String value) {
  /** Well under S3's 1,024 bytes, leaving room for a configured prefix. */
  public static final int MAX_LENGTH = 512;
  /** A segment is a file name under a local root: ext4's limit. */
  private static final int MAX_SEGMENT = 255;
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");

  public ObjectKey {
    if (value == null || value.isEmpty()) throw new IllegalArgumentException("an object key must not be empty");
    if (value.length() > MAX_LENGTH) throw new IllegalArgumentException("object key is " + value.length() + " characters, at most " + MAX_LENGTH + " allowed");
    for (String s : value.split("/", -1)) {
      if (s.length() > MAX_SEGMENT || !SEGMENT.matcher(s).matches()) {
        throw new IllegalArgumentException("object key '" + value + "' has a bad segment '" + s
            + "': segments are 1.." + MAX_SEGMENT + " letters, digits, '.', '_' or '-', not starting with '.', joined by single '/'");
      }
    }
  }

  /** A key prefix for {@link ObjectStore#list}: empty, or a key's beginning ("images/", "images/ab"). */
  static String validPrefix(String prefix) {
    if (prefix.isEmpty()) return prefix;
    String probe = prefix.endsWith("/") ? prefix + "x" : prefix;
    new ObjectKey(probe);
    return prefix;
  }

  @Override
  public String toString() {
    return value;
  }
}
