package dev.kiln.vmm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** cgroup v2: one hierarchy; this daemon's group delegates cpu, memory, pids and io to one group per VM. */
record CgroupsV2(Path root, String name, Optional<String> disk) implements Cgroups {
  private static final long PERIOD_US = 100_000;

  static CgroupsV2 open(Path root, String name, Path dataDir) throws IOException {
    Path mine = Files.createDirectories(root.resolve(name));
    List<String> available = List.of(Files.readString(root.resolve("cgroup.controllers")).strip().split("\\s+"));
    StringBuilder enable = new StringBuilder();
    for (String c : List.of("cpu", "memory", "pids", "io")) {
      if (available.contains(c)) enable.append(" +").append(c);
    }
    // Controllers flow down only where each parent enables them for its children.
    Cgroups.write(root.resolve("cgroup.subtree_control"), enable.toString().strip());
    Cgroups.write(mine.resolve("cgroup.subtree_control"), enable.toString().strip());
    return new CgroupsV2(root, name, Cgroups.blockDeviceOf(dataDir, Path.of("/sys/dev/block")));
  }

  private Path group(String vm) {
    return root.resolve(name).resolve(vm);
  }

  @Override
  public int version() {
    return 2;
  }

  @Override
  public List<Path> prepare(String vm, VmLimits limits) throws IOException {
    Path g = Files.createDirectories(group(vm));
    update(vm, limits);
    return List.of(g.resolve("cgroup.procs"));
  }

  @Override
  public void update(String vm, VmLimits limits) throws IOException {
    Path g = group(vm);
    // A controller the host does not enable has no files here: that limit is left out, not the VM.
    if (Files.exists(g.resolve("cpu.max"))) {
      Cgroups.write(g.resolve("cpu.max"), limits.cpuCores() * PERIOD_US + " " + PERIOD_US);
      Cgroups.write(g.resolve("cpu.weight"), "100");
    }
    if (Files.exists(g.resolve("memory.max"))) Cgroups.write(g.resolve("memory.max"), Long.toString(limits.memoryBytes()));
    if (Files.exists(g.resolve("memory.swap.max"))) Cgroups.write(g.resolve("memory.swap.max"), "0");
    if (Files.exists(g.resolve("pids.max"))) Cgroups.write(g.resolve("pids.max"), Integer.toString(limits.pids()));
    if (Files.exists(g.resolve("io.weight"))) Cgroups.write(g.resolve("io.weight"), "100");
    if (disk.isPresent() && Files.exists(g.resolve("io.max"))) {
      Cgroups.write(g.resolve("io.max"), disk.get() + " rbps=" + limits.ioBytesPerSecond() + " wbps=" + limits.ioBytesPerSecond());
    }
  }

  @Override
  public Optional<Usage> usage(String vm) {
    Path g = group(vm);
    OptionalLong memory = Cgroups.readLong(g.resolve("memory.current"));
    if (memory.isEmpty()) return Optional.empty();
    long cpuUsec = -1;
    try {
      for (String line : Files.readAllLines(g.resolve("cpu.stat"))) {
        if (line.startsWith("usage_usec ")) cpuUsec = Long.parseLong(line.substring(11).strip());
      }
    } catch (IOException | NumberFormatException e) {
      return Optional.empty();
    }
    return Optional.of(new Usage(cpuUsec * 1000, memory.getAsLong(), Cgroups.readLong(g.resolve("memory.max")).orElse(-1)));
  }

  @Override
  public void remove(String vm) {
    Cgroups.rmdir(group(vm));
  }

  @Override
  public void sweep() {
    try (var groups = Files.newDirectoryStream(root.resolve(name), Files::isDirectory)) {
      for (Path g : groups) Cgroups.rmdir(g);
    } catch (IOException e) {
      Cgroups.log.warn("cgroups not swept: {}", e.toString());
    }
  }

  @Override
  public void leave() {
    sweep();
    Cgroups.rmdir(root.resolve(name));
  }
}
