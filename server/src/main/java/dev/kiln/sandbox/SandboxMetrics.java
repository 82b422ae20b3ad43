package dev.kiln.sandbox;

import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.Cgroups;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Reads each sandbox's {@link SandboxUsage} from the host: its control group, its files, its link. */
final class SandboxMetrics {
  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final SandboxRegistry live;
  private final SandboxNetworks networks;
  private final RunDirs dirs;

  SandboxMetrics(SandboxRepository repo, SandboxRows rows, SandboxRegistry live, SandboxNetworks networks, RunDirs dirs) {
    this.repo = repo;
    this.rows = rows;
    this.live = live;
    this.networks = networks;
    this.dirs = dirs;
  }

  SandboxUsage of(String id) {
    return of(rows.row(id));
  }

  /** Every sandbox of this node. */
  List<SandboxUsage> all() {
    List<SandboxUsage> out = new ArrayList<>();
    for (SandboxRow r : repo.all()) {
      if (live.find(new SandboxId(r.id())).isPresent()) out.add(of(r));
    }
    return out;
  }

  private SandboxUsage of(SandboxRow r) {
    Optional<RunningVm> vm = live.find(new SandboxId(r.id())).map(sb -> sb.vm).filter(RunningVm::isAlive);
    Optional<Cgroups.Usage> used = vm.flatMap(RunningVm::usage);
    double cpu = vm.isEmpty() ? 0 : used.map(u -> u.cpuNanos() / 1e9).orElse(-1.0);
    long memory = vm.isEmpty() ? 0 : used.map(Cgroups.Usage::memoryBytes).orElse(-1L);
    long limit = used.map(Cgroups.Usage::memoryLimitBytes).orElse(-1L);
    long[] traffic = networks.trafficBytes(r.id()).orElse(new long[] {-1, -1});
    return new SandboxUsage(r.id(), r.state(), Instant.now(), cpu, memory, limit, diskBytes(r, vm), traffic[0], traffic[1]);
  }

  /** Its top layer and paused state: what it wrote to the host's disk. */
  private long diskBytes(SandboxRow r, Optional<RunningVm> vm) {
    Optional<Path> top = vm.map(v -> v.spec().rootDisk());
    if (top.isEmpty() && r.vmJson().isPresent()) {
      try {
        top = Optional.of(VmRecords.decode(r.vmJson().get()).rootDisk());
      } catch (VmmException e) {
        top = Optional.empty();
      }
    }
    return top.map(SandboxMetrics::size).orElse(0L) + size(dirs.pausedState(r.id()));
  }

  private static long size(Path p) {
    try {
      return Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) ? Files.size(p) : 0;
    } catch (IOException e) {
      return 0;
    }
  }
}
