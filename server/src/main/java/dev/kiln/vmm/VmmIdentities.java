package dev.kiln.vmm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each VM a uid of its own from a configured range. A uid belongs to the run directory it
 * was given to, and the group of that directory is the record: the uid stays taken for as long
 * as the directory exists and is that uid's group's (across pause and resume, which reuse the directory),
 * and is free again once the directory is gone and no process runs as it. So a daemon that
 * crashed recovers every claim by looking at the run directories and the processes, and a uid is
 * never handed out while anything of its last holder could still use it. Uids are handed out in
 * turn, not lowest first, so a released one is the last to be reused.
 */
public final class VmmIdentities {
  private static final Logger log = LoggerFactory.getLogger(VmmIdentities.class);
  /** Far above the uids distributions give people (1000+) and the subordinate ranges useradd hands out (100000+). */
  public static final String DEFAULT_RANGE = "3000000-3065535";
  /** The group of every VMM uid, which the installer creates: it may open taps and /dev/net/tun. */
  public static final String DEFAULT_GROUP = "kiln-vmm";

  private final int first;
  private final int last;
  private final OptionalInt sharedGroup;
  /** uid → the run directory it was given to. */
  private final Map<Integer, Path> claims = new HashMap<>();
  /** uids of processes found running at start whose run directory is not (or no longer) theirs. */
  private final Map<Integer, ProcessHandle> strays = new HashMap<>();
  private int next;

  public VmmIdentities(int first, int last, OptionalInt sharedGroup) {
    if (first < 1000 || last < first) throw new IllegalArgumentException("VMM uid range must be FIRST-LAST with 1000 <= FIRST <= LAST, got " + first + "-" + last);
    this.first = first;
    this.last = last;
    this.sharedGroup = sharedGroup;
    this.next = first;
  }

  /** "FIRST-LAST", as the config names the range. */
  public static VmmIdentities parse(String range, OptionalInt sharedGroup) {
    String[] parts = range.strip().split("-", -1);
    if (parts.length != 2 || !parts[0].matches("\\d{1,10}") || !parts[1].matches("\\d{1,10}")) {
      throw new IllegalArgumentException("a VMM uid range is FIRST-LAST (like 3000000-3065535), got '" + range + "'");
    }
    long a = Long.parseLong(parts[0]);
    long b = Long.parseLong(parts[1]);
    if (b > Integer.MAX_VALUE - 1) throw new IllegalArgumentException("VMM uids must be below 2^31, got '" + range + "'");
    return new VmmIdentities((int) a, (int) b, sharedGroup);
  }

  /**
   * Takes back what a previous daemon handed out: every run directory under {@code runRoots} of a
   * group of the range, and every process running as one.
   */
  public synchronized void recover(List<Path> runRoots, Path proc) throws IOException {
    for (Path root : runRoots) {
      if (!Files.isDirectory(root)) continue;
      try (var dirs = Files.newDirectoryStream(root)) {
        for (Path d : dirs) {
          if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) continue;
          int uid = groupOf(d);
          if (inRange(uid)) claims.put(uid, d.toAbsolutePath().normalize());
        }
      }
    }
    if (Files.isDirectory(proc)) {
      try (var pids = Files.newDirectoryStream(proc, "[0-9]*")) {
        for (Path p : pids) {
          int uid;
          try {
            uid = ownerOf(p);
          } catch (IOException e) {
            continue; // it exited while we looked
          }
          if (inRange(uid) && !claims.containsKey(uid)) ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(h -> strays.put(uid, h));
        }
      }
    }
    if (!claims.isEmpty() || !strays.isEmpty()) log.info("vmm uids recovered claimed={} running_without_run_dir={}", claims.size(), strays.size());
  }

  /**
   * The identity of the VM whose run directory this is: the uid whose group it already is (a
   * resumed or adopted VM), else the next free one. The directory (created if need be) is root's
   * and that uid's group's, mode 01770, before this returns: the group is the claim. QEMU may make
   * its sockets and pid file there; the sticky bit keeps it from renaming or removing what the
   * daemon writes there (its log, the console, a paused state), and the daemon opens nothing there
   * through a link.
   */
  public synchronized VmmIdentity claim(Path runDir) throws VmmException {
    Path dir = runDir.toAbsolutePath().normalize();
    try {
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        int owner = groupOf(dir);
        if (inRange(owner) && dir.equals(claims.get(owner))) return identity(owner);
      }
    } catch (IOException e) {
      throw new VmmException("cannot read the owner of run directory " + dir + ": " + e.getMessage(), e);
    }
    int size = last - first + 1;
    for (int i = 0; i < size; i++) {
      int uid = first + (int) (((long) next - first + i) % size);
      if (isFree(uid)) {
        try {
          Files.createDirectories(dir);
          Files.setAttribute(dir, "unix:uid", 0, LinkOption.NOFOLLOW_LINKS);
          Files.setAttribute(dir, "unix:gid", uid, LinkOption.NOFOLLOW_LINKS);
          Files.setAttribute(dir, "unix:mode", 01770, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
          throw new VmmException("cannot give run directory " + dir + " to VMM uid " + uid + ": " + e.getMessage(), e);
        }
        claims.put(uid, dir);
        next = uid == last ? first : uid + 1;
        return identity(uid);
      }
    }
    throw new VmmException("every VMM uid of " + first + "-" + last + " is taken (" + size + " VMs): widen vmm.uids in the config");
  }

  private boolean isFree(int uid) {
    ProcessHandle stray = strays.get(uid);
    if (stray != null) {
      if (stray.isAlive()) return false;
      strays.remove(uid);
    }
    Path dir = claims.get(uid);
    if (dir == null) return true;
    try {
      if (Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && groupOf(dir) == uid) return false;
    } catch (IOException e) {
      return false; // cannot tell: keep it taken
    }
    claims.remove(uid);
    return true;
  }

  /** How many uids are taken now (for metrics and doctor). */
  public synchronized int taken() {
    claims.keySet().removeIf(this::isFreeQuietly);
    return claims.size() + strays.size();
  }

  private boolean isFreeQuietly(int uid) {
    Path dir = claims.get(uid);
    try {
      return !(Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS) && groupOf(dir) == uid);
    } catch (IOException e) {
      return false;
    }
  }

  public int size() {
    return last - first + 1;
  }

  public boolean inRange(int uid) {
    return uid >= first && uid <= last;
  }

  public OptionalInt sharedGroup() {
    return sharedGroup;
  }

  private VmmIdentity identity(int uid) {
    return new VmmIdentity(uid, sharedGroup);
  }

  static int ownerOf(Path p) throws IOException {
    return (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
  }

  static int groupOf(Path p) throws IOException {
    return (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
  }
}
