package dev.kiln.sandbox;

import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.Cgroups;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmmException;
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
  private final DiskQuota quota;

  SandboxMetrics(SandboxRepository repo, SandboxRows rows, SandboxRegistry live, SandboxNetworks networks, DiskQuota quota) {
    this.quota = quota;
    this.repo = repo;
    this.rows = rows;
    this.live = live;
    this.networks = networks;
  }

  SandboxUsage of(String id) {
    return of(rows.row(id));
  }

  /** CPU time and memory of the sandbox's VM running here, from its control group alone (no row, disk or link read); empty otherwise. */
  Optional<Cgroups.Usage> vmUsage(String id) {
    return live.find(new SandboxId(id)).map(sb -> sb.vm).filter(RunningVm::isAlive).flatMap(RunningVm::usage);
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

  /** What counts against its disk quota: its layers, its checkpoints' states, its paused state. */
  private long diskBytes(SandboxRow r, Optional<RunningVm> vm) {
    Optional<Path> top = vm.map(v -> v.spec().rootDisk());
    if (top.isEmpty() && r.vmJson().isPresent()) {
      try {
        top = Optional.of(VmRecords.decode(r.vmJson().get()).rootDisk());
      } catch (VmmException e) {
        top = Optional.empty();
      }
    }
    return quota.used(r.id(), top);
  }
}
