package dev.kiln.vmm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** cgroup v1: a hierarchy per controller (cpu, cpuacct, memory, pids, blkio), the same group name in each. */
record CgroupsV1(Path root, String name, Optional<String> disk) implements Cgroups {
  private static final List<String> CONTROLLERS = List.of("cpu", "cpuacct", "memory", "pids", "blkio");
  private static final long PERIOD_US = 100_000;

  static CgroupsV1 open(Path root, String name, Path dataDir) throws IOException {
    for (String c : CONTROLLERS) {
      if (!Files.isDirectory(root.resolve(c))) throw new IOException("controller " + c + " is not mounted at " + root.resolve(c));
      Files.createDirectories(root.resolve(c).resolve(name));
    }
    // Hierarchical accounting, so this daemon's group sums its VMs (the default on current kernels).
    Path hierarchy = root.resolve("memory").resolve(name).resolve("memory.use_hierarchy");
    if (Files.exists(hierarchy) && Cgroups.readLong(hierarchy).orElse(1) == 0) Cgroups.write(hierarchy, "1");
    return new CgroupsV1(root, name, Cgroups.blockDeviceOf(dataDir, Path.of("/sys/dev/block")));
  }

  private Path group(String controller, String vm) {
    return root.resolve(controller).resolve(name).resolve(vm);
  }

  @Override
  public int version() {
    return 1;
  }

  @Override
  public List<Path> prepare(String vm, VmLimits limits) throws IOException {
    List<Path> procs = new ArrayList<>();
    for (String c : CONTROLLERS) {
      Path g = Files.createDirectories(group(c, vm));
      procs.add(g.resolve("cgroup.procs"));
    }
    update(vm, limits);
    return procs;
  }

  @Override
  public void update(String vm, VmLimits limits) throws IOException {
    Cgroups.write(group("cpu", vm).resolve("cpu.cfs_period_us"), Long.toString(PERIOD_US));
    Cgroups.write(group("cpu", vm).resolve("cpu.cfs_quota_us"), Long.toString(limits.cpuCores() * PERIOD_US));
    Cgroups.write(group("cpu", vm).resolve("cpu.shares"), "1024");
    Path memory = group("memory", vm);
    // Raising it is refused while the swap limit is lower: raise that first where there is one.
    Path memsw = memory.resolve("memory.memsw.limit_in_bytes");
    if (Files.exists(memsw) && Cgroups.readLong(memsw).orElse(Long.MAX_VALUE) < limits.memoryBytes()) {
      Cgroups.write(memsw, Long.toString(limits.memoryBytes()));
    }
    Cgroups.write(memory.resolve("memory.limit_in_bytes"), Long.toString(limits.memoryBytes()));
    if (Files.exists(memsw)) Cgroups.write(memsw, Long.toString(limits.memoryBytes())); // no swapping around the limit
    Cgroups.write(group("pids", vm).resolve("pids.max"), Integer.toString(limits.pids()));
    Path blkio = group("blkio", vm);
    if (Files.exists(blkio.resolve("blkio.weight"))) Cgroups.write(blkio.resolve("blkio.weight"), "500");
    if (disk.isPresent()) {
      for (String f : List.of("blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device")) {
        Cgroups.write(blkio.resolve(f), disk.get() + " " + limits.ioBytesPerSecond());
      }
    }
  }

  @Override
  public Optional<Usage> usage(String vm) {
    OptionalLong cpu = Cgroups.readLong(group("cpuacct", vm).resolve("cpuacct.usage"));
    OptionalLong memory = Cgroups.readLong(group("memory", vm).resolve("memory.usage_in_bytes"));
    if (cpu.isEmpty() || memory.isEmpty()) return Optional.empty();
    return Optional.of(new Usage(cpu.getAsLong(), memory.getAsLong(),
        Cgroups.readLong(group("memory", vm).resolve("memory.limit_in_bytes")).orElse(-1)));
  }

  @Override
  public void remove(String vm) {
    for (String c : CONTROLLERS) Cgroups.rmdir(group(c, vm));
  }

  @Override
  public void sweep() {
    for (String c : CONTROLLERS) {
      try (var groups = Files.newDirectoryStream(root.resolve(c).resolve(name), Files::isDirectory)) {
        for (Path g : groups) Cgroups.rmdir(g);
      } catch (IOException e) {
        Cgroups.log.warn("cgroups of {} not swept: {}", c, e.toString());
      }
    }
  }

  @Override
  public void leave() {
    sweep();
    for (String c : CONTROLLERS) Cgroups.rmdir(root.resolve(c).resolve(name));
  }
}
