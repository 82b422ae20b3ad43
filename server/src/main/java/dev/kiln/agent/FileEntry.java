package dev.kiln.agent;

import java.time.Instant;

/** A file's metadata as the guest reported it (STAT_RESULT or one LIST_ENTRIES item). */
public record FileEntry(String name, Kind kind, int mode, long size, Instant mtime) {
  public enum Kind { FILE, DIRECTORY, SYMLINK, OTHER }

  static FileEntry decode(PayloadReader r) throws ProtocolException {
    int kindCode = r.u8();
    if (kindCode > 3) throw new ProtocolException("entry kind " + kindCode + " is not one of 0..3");
    int mode = (int) r.u32();
    long size = r.u64();
    long mtimeNs = r.i64();
    String name = new String(r.str(), java.nio.charset.StandardCharsets.UTF_8);
    return new FileEntry(name, Kind.values()[kindCode], mode & 07777, size,
        Instant.ofEpochSecond(Math.floorDiv(mtimeNs, 1_000_000_000L), Math.floorMod(mtimeNs, 1_000_000_000L)));
  }
}
