package dev.kiln.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.kiln.config.KilnConfig;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.TemplateSource;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.RunningVm;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code kiln bench --density N}: how many idle sandboxes from one snapshot this host holds and
 * what each costs. First 10 and 50 creates at once (those not above N) against as many raw
 * restores at the same parallelism; then sandboxes are created one by one up to N (or until a create fails
 * or the host's available memory falls under its reserve, which the report names), with the
 * memory (PSS, RSS, the host's available memory) and idle CPU they take sampled at steps on the
 * way, and each create's time to its first exec while the others run.
 */
public final class DensityBench {
  private static final String TEMPLATE = "bench";
  private static final int MEMORY_MIB = 512;
  /** Sampled after this many sandboxes run (and at the end). */
  private static final List<Integer> STEPS = List.of(1, 10, 50, 100, 200, 300, 400, 500, 750, 1000);
  /** Idle CPU is the busy share over this window with nothing asked of the sandboxes. */
  private static final long IDLE_WINDOW_MS = 3_000;
  /** Creates stop while the host has less than this share of its memory available: the bench must not push the host into swap or the OOM killer. */
  private static final double MEMORY_RESERVE = 0.05;
  private final Path work;
  private final GuestArtifacts artifacts;
  private final int target;
  private final BenchReport report;
  private final HostSampler host = new HostSampler(Path.of("/proc"));
  private final String key = Bench.randomKey();
  private BenchApi api;

  public DensityBench(Path work, GuestArtifacts artifacts, int target, boolean json) {
    this.work = work;
    this.artifacts = artifacts;
    this.target = target;
    this.report = new BenchReport(json);
  }

  /** One sample on the way up. */
  private record Step(int running, double pssMib, double rssMib, double availableDropMib, double idleCpu, double qemuCpu, Stats creates) {}

  public void run() throws Exception {
    Path rootfs = work.resolve("rootfs");
    BusyboxRootfs.create(rootfs);
    KilnConfig config = Bench.daemonConfig(work, artifacts);
    String marker = config.dataDir().toString();
    try (KilnDaemon daemon = new KilnDaemon(config, Optional.of(key))) {
      daemon.start();
      api = new BenchApi(HttpClient.newHttpClient(), new ObjectMapper(), "http://127.0.0.1:" + daemon.port(), b -> b.header("Authorization", "Bearer " + key));
      daemon.templates().build(TEMPLATE, new TemplateSource.Directory(rootfs.toAbsolutePath()), 256, Optional.empty());
      daemon.sandboxes().snapshot(TEMPLATE);
      Path snapshot = daemon.templates().snapshotPointers().current(TEMPLATE, false).orElseThrow();
      Accelerator accel = Accelerator.resolve(config.accelerator(), Path.of("/sys/module"), Path.of("/dev/kvm"));
      report.fact("density", target);
      report.fact("accelerator", accel.name());
      report.fact("guest", artifacts.id());
      report.say(String.format("kiln bench --density %d: idle %d MiB sandboxes from one snapshot, accelerator=%s, guest=%s", target, MEMORY_MIB, accel,
          artifacts.id()));
      RawFloors raw = new RawFloors(work, artifacts, 1);
      for (int n : List.of(10, 50)) {
        if (n <= target) concurrent(n, raw, snapshot);
      }
      climb(marker);
    } finally {
      Bench.removeHostTable();
    }
  }

  /** {@code n} creates at once (each to its first exec) against {@code n} raw restores at the same parallelism. */
  private void concurrent(int n, RawFloors raw, Path snapshot) throws Exception {
    Stats floor = new Stats(n + " raw restores at once, to first exec in each (floor)", "ms");
    Stats kiln = new Stats(n + " creates at once, to first exec in each (API)", "ms");
    for (int round = 0; round < 3; round++) {
      List<RunningVm> vms = new ArrayList<>();
      long t0 = System.nanoTime();
      try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
        List<Future<RunningVm>> started = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          String name = "par-" + round + "-" + i;
          started.add(pool.submit(() -> raw.restoreRunning(snapshot, name)));
        }
        for (Future<RunningVm> f : started) vms.add(f.get());
      }
      floor.add(Bench.ms(t0));
      for (RunningVm vm : vms) RawFloors.stop(vm);
      ConcurrentLinkedQueue<String> ids = new ConcurrentLinkedQueue<>();
      t0 = System.nanoTime();
      try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
        List<Future<?>> made = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          made.add(pool.submit(() -> {
            String id = create();
            ids.add(id);
            api.exec(id);
            return null;
          }));
        }
        for (Future<?> f : made) f.get();
      }
      kiln.add(Bench.ms(t0));
      deleteAll(new ArrayList<>(ids));
    }
    report.line(floor);
    report.line(kiln);
    report.compare(n + " concurrent creates to first exec", kiln, floor);
  }

  /** Sandboxes one by one up to the target, sampled at each step; all deleted at the end. */
  private void climb(String marker) throws Exception {
    long totalKib = host.memTotalKib();
    long reserveKib = (long) (totalKib * MEMORY_RESERVE);
    long availableBefore = host.memAvailableKib();
    double idleBefore = busyOver(IDLE_WINDOW_MS, marker)[0];
    report.say(String.format("before: %.0f MiB available of %.0f, host CPU busy %.1f%% with no sandbox", availableBefore / 1024.0, totalKib / 1024.0,
        idleBefore * 100));
    List<String> ids = new ArrayList<>();
    List<Step> steps = new ArrayList<>();
    Stats all = new Stats("create to first exec answered, while the others run (API)", "ms");
    Stats window = new Stats("", "ms");
    List<Double> inOrder = new ArrayList<>();
    String stopped = "reached the target";
    HostSampler.CpuTime lastCpu = host.cpuTime();
    try {
      while (ids.size() < target) {
        HostSampler.CpuTime cpuBefore = lastCpu;
        lastCpu = host.cpuTime();
        long available = host.memAvailableKib();
        if (available < reserveKib) {
          stopped = String.format("host memory ran out: %.0f MiB available, under the %.0f MiB reserve (%.0f%% of %.0f MiB)", available / 1024.0,
              reserveKib / 1024.0, MEMORY_RESERVE * 100, totalKib / 1024.0);
          break;
        }
        long t0 = System.nanoTime();
        String id;
        try {
          id = create();
          ids.add(id);
          api.exec(id);
        } catch (Exception e) {
          stopped = "create " + (ids.size() + 1) + " failed: " + e.getMessage() + "; " + whatRanOut(cpuBefore, reserveKib);
          break;
        }
        double ms = Bench.ms(t0);
        all.add(ms);
        window.add(ms);
        inOrder.add(ms);
        if (STEPS.contains(ids.size()) || ids.size() == target) {
          steps.add(sample(ids.size(), marker, availableBefore, idleBefore, window));
          window = new Stats("", "ms");
        }
      }
      if (steps.isEmpty() || steps.getLast().running() != ids.size()) {
        if (!ids.isEmpty()) steps.add(sample(ids.size(), marker, availableBefore, idleBefore, window));
      }
    } finally {
      report.say("deleting " + ids.size() + " sandboxes");
      deleteAll(ids);
    }
    print(all, steps, inOrder, stopped);
  }

  /** The host's state when a create failed, naming the resource that ran out when one did. */
  private String whatRanOut(HostSampler.CpuTime since, long reserveKib) throws Exception {
    double busy = host.cpuTime().busySince(since);
    double load = host.loadAverage();
    long available = host.memAvailableKib();
    int cpus = Runtime.getRuntime().availableProcessors();
    String state = String.format("the host's CPU was %.0f%% busy over the last two creates, load average %.1f on %d CPUs, %.0f MiB memory available", busy * 100,
        load, cpus, available / 1024.0);
    if (busy >= 0.95 || load >= 4.0 * cpus) return state + ": CPU ran out";
    if (available < 2 * reserveKib) return state + ": memory ran out";
    return state;
  }

  private Step sample(int running, String marker, long availableBefore, double idleBefore, Stats creates) throws Exception {
    double[] busy = busyOver(IDLE_WINDOW_MS, marker);
    HostSampler.Processes q = host.processes(marker);
    long available = host.memAvailableKib();
    int n = Math.max(1, q.count());
    Step s = new Step(running, q.pssKib() / 1024.0 / n, q.rssKib() / 1024.0 / n, (availableBefore - available) / 1024.0 / running,
        Math.max(0, busy[0] - idleBefore), busy[1], creates);
    report.say(String.format("%4d running (%d QEMUs): PSS %.1f MiB, RSS %.1f MiB, host memory %.1f MiB (MemAvailable drop) per sandbox; idle CPU %.1f%% of the host "
        + "(QEMUs %.1f%%); creates since the last step p50 %.0f ms, p99 %.0f ms", running, q.count(), s.pssMib(), s.rssMib(), s.availableDropMib(),
        s.idleCpu() * 100, s.qemuCpu() * 100, creates.median(), creates.percentile(99)));
    return s;
  }

  /** {host busy share, the matching QEMUs' share of the host} over a window in which nothing is asked of the sandboxes. */
  private double[] busyOver(long ms, String marker) throws Exception {
    HostSampler.CpuTime c0 = host.cpuTime();
    long q0 = host.processes(marker).cpuTicks();
    long t0 = System.nanoTime();
    Thread.sleep(ms); // a measurement window, not a wait for an event
    double secs = Bench.secs(t0);
    HostSampler.CpuTime c1 = host.cpuTime();
    long q1 = host.processes(marker).cpuTicks();
    int cpus = Runtime.getRuntime().availableProcessors();
    return new double[] {c1.busySince(c0), (q1 - q0) / (secs * HostSampler.TICKS_PER_SECOND * cpus)};
  }

  private void print(Stats all, List<Step> steps, List<Double> inOrder, String stopped) {
    report.line(all);
    ObjectNode section = report.section("densityResult");
    section.put("target", target).put("reached", inOrder.size()).put("stopped", stopped);
    ArrayNode rows = section.putArray("steps");
    for (Step s : steps) {
      rows.addObject().put("running", s.running()).put("pssMib", s.pssMib()).put("rssMib", s.rssMib()).put("availableDropMib", s.availableDropMib())
          .put("idleCpu", s.idleCpu()).put("qemuCpu", s.qemuCpu()).put("createP50", s.creates().median()).put("createP99", s.creates().percentile(99));
    }
    report.note(String.format("density: %d of %d sandboxes running at once (%s)", inOrder.size(), target, stopped));
    if (inOrder.size() >= 10) {
      Stats first = new Stats("the first 5 creates to first exec", "ms");
      Stats last = new Stats("the last 5 creates to first exec (" + inOrder.size() + " running)", "ms");
      inOrder.subList(0, 5).forEach(first::add);
      inOrder.subList(inOrder.size() - 5, inOrder.size()).forEach(last::add);
      report.line(first);
      report.line(last);
      report.compare("create with " + inOrder.size() + " running (vs the first)", last, first, new Goal.AtMostTimes(1.5));
    }
    if (!steps.isEmpty()) {
      Step top = steps.getLast();
      boolean met = top.availableDropMib() <= 30;
      report.note(String.format("density: host memory per sandbox at %d running: %.1f MiB (available drop), PSS %.1f MiB, RSS %.1f MiB; goal <= 30 MiB: %s",
          top.running(), top.availableDropMib(), top.pssMib(), top.rssMib(), met ? "met" : "MISSED"));
    }
    report.finish();
  }

  private String create() throws Exception {
    return api.create("{\"template\":\"" + TEMPLATE + "\",\"memoryMib\":" + MEMORY_MIB + ",\"timeoutSeconds\":86400}");
  }

  /** Deleted eight at a time; one that fails is named and the rest still go. */
  private void deleteAll(List<String> ids) throws Exception {
    ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      for (String id : ids) {
        pool.submit(() -> {
          try {
            api.delete(id);
          } catch (Exception e) {
            failed.add(id + ": " + e.getMessage());
          }
        });
      }
    }
    if (!failed.isEmpty()) throw new IllegalStateException("sandboxes not deleted: " + failed);
  }
}
