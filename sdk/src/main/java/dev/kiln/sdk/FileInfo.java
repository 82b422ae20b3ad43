package dev.kiln.sdk;

import java.time.Instant;

/** One directory entry. {@code type} is file, directory, symlink or other; {@code mode} the permission bits, e.g. 0644. */
public record FileInfo(String name, String type, long size, int mode, Instant modified) {
  public boolean isDirectory() {
    return type.equals("directory");
  }
}
