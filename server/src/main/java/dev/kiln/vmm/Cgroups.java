package dev.kiln.vmm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One control group per VM, under this daemon's own ({@code kiln-<scope>}), with its
 * {@link VmLimits}: on cgroup v1 (a hierarchy per controller) or v2 (one unified hierarchy). QEMU
 * is put in it by the process that becomes QEMU, before QEMU runs (see {@link QemuBackend}), so
 * the limits hold from the first guest instruction; restores, resumes and forks are new QEMUs and
 * get the same.
 */
public sealed interface Cgroups permits CgroupsV1, CgroupsV2 {
  Logger log = LoggerFactory.getLogger(Cgroups.class);

  /** What a VM's group has used. */
  record Usage(long cpuNanos, long memoryBytes, long memoryLimitBytes) {}

  /**
   * The host's cgroups at {@code root} (normally /sys/fs/cgroup), or empty if there are none this
   * daemon can make groups in (it says why). {@code scope} keeps several daemons on one host apart.
   */
  public static Optional<Cgroups> detect(Path root, String scope, Path dataDir) {
    if (!scope.matches("[a-z0-9-]{1,40}")) throw new IllegalArgumentException("bad cgroup scope " + scope);
    String name = "kiln-" + scope;
    try {
      if (Files.isRegularFile(root.resolve("cgroup.controllers"))) return Optional.of(CgroupsV2.open(root, name, dataDir));
      if (Files.isDirectory(root.resolve("cpu")) && Files.isDirectory(root.resolve("memory"))) return Optional.of(CgroupsV1.open(root, name, dataDir));
      log.warn("no cgroup hierarchy at {}: VMs run without CPU, memory and pids limits", root);
    } catch (IOException e) {
      log.warn("cgroups at {} cannot be used ({}): VMs run without CPU, memory and pids limits", root, e.getMessage());
    }
    return Optional.empty();
  }

  /** 1 or 2. */
  int version();

  /**
   * Makes (or re-makes) the VM's group with these limits; returns the files the process that will
   * become QEMU writes its pid to.
   */
  List<Path> prepare(String vm, VmLimits limits) throws IOException;

  /** New limits for a VM that grew (a hot-plug). */
  void update(String vm, VmLimits limits) throws IOException;

  /** What the VM's group used so far; empty if it has none. */
  Optional<Usage> usage(String vm);

  /** Removes the group of a VM whose QEMU is gone; a group with a process in it stays. */
  void remove(String vm);

  /** Removes every empty group of this daemon's: what VMs that ended while no daemon ran left. */
  void sweep();

  /**
   * Removes this daemon's own group when no VM's is left in it, at the daemon's stop: tests,
   * benchmarks and data directories given up would otherwise leave one on the host each. A VM
   * left running for the next start keeps the group (rmdir refuses a group with children).
   */
  void leave();

  /** The block device under {@code dir} as "major:minor" (the whole disk), if it is one; for I/O throttling. */
  static Optional<String> blockDeviceOf(Path dir, Path sysDevBlock) {
    try {
      long dev = ((Number) Files.getAttribute(dir, "unix:dev")).longValue();
      // glibc's encoding of dev_t.
      long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
      long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
      Path sys = sysDevBlock.resolve(major + ":" + minor);
      if (!Files.isDirectory(sys)) return Optional.empty(); // not a block device (tmpfs, overlay)
      if (Files.exists(sys.resolve("partition"))) {
        String whole = Files.readString(sys.toRealPath().getParent().resolve("dev")).strip();
        return Optional.of(whole);
      }
      return Optional.of(major + ":" + minor);
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** A number a control file holds; empty if missing or not a number ("max"). */
  static OptionalLong readLong(Path file) {
    return dev.kiln.host.HostFacts.readLong(file);
  }

  static void write(Path file, String value) throws IOException {
    Files.writeString(file, value);
  }

  /** rmdir, quietly: a group still in use (EBUSY) or gone is left as it is. */
  static void rmdir(Path dir) {
    try {
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      log.debug("cgroup {} not removed: {}", dir, e.toString());
    }
  }
}
