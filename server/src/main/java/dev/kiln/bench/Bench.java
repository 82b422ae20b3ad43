package dev.kiln.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.blob.LocalObjectStore;
import dev.kiln.blob.ObjectStore;
import dev.kiln.blob.ObjectStores;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.NetworkConfig;
import dev.kiln.config.ObjectStoreConfig;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.Template;
import dev.kiln.image.TemplateSource;
import dev.kiln.net.NetworkService;
import dev.kiln.sandbox.Checkpoints;
import dev.kiln.sandbox.Forks;
import dev.kiln.sdk.CommandHandle;
import dev.kiln.sdk.Kiln;
import dev.kiln.sdk.Sandbox;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.Machine;
import dev.kiln.vmm.RunningVm;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Measures Kiln's main paths and, in the same run, the floor each is built on: a VM booted and
 * handshaken with no daemon around it, and execs and file transfers over a raw agent channel. The
 * ratios say what Kiln's layers cost; absolute numbers depend on the host (TCG here).
 */
public final class Bench {
  static final int MIB = 1 << 20;
  private static final String TEMPLATE = "bench";
  private static final String NETWORKED = ",\"network\":{\"mode\":\"internet\"}";
  private static final String Q35 = ",\"machine\":\"q35\"";
  private final Path work;
  private final GuestArtifacts artifacts;
  private final int rounds;
  private final int fileMib;
  private final ClusterOptions cluster;
  private final BenchReport report;
  private final RawFloors raw;
  private final HttpClient http = HttpClient.newHttpClient();
  private final String key;
  private BenchApi api;
  private String base;

  /**
   * Where the cluster lines get what a cluster has: a PostgreSQL database (empty: a throwaway server
   * if PostgreSQL 15 is installed, else the lines are skipped) and a bucket (empty: a directory).
   */
  public record ClusterOptions(Optional<DatabaseConfig> database, Optional<ObjectStoreConfig> bucket) {}

  public Bench(Path work, GuestArtifacts artifacts, int rounds, int fileMib, ClusterOptions cluster, boolean json) {
    this.work = work;
    this.artifacts = artifacts;
    this.rounds = rounds;
    this.fileMib = fileMib;
    this.cluster = cluster;
    this.report = new BenchReport(json);
    this.raw = new RawFloors(work, artifacts, fileMib);
    this.key = randomKey();
  }

  static String randomKey() {
    byte[] k = new byte[16];
    new SecureRandom().nextBytes(k);
    return "bench-" + HexFormat.of().formatHex(k);
  }

  /** A daemon of the bench's own in {@code work}/data: loopback only, its own network prefix and pool, no snapshots taken by itself. */
  static KilnConfig daemonConfig(Path work, GuestArtifacts artifacts) {
    return KilnConfig.defaults().withDataDir(work.resolve("data")).withListen("127.0.0.1:0").withGuestArtifacts(artifacts.kernel().getParent())
        .withTemplateSnapshots(false).withNetwork(NetworkConfig.DEFAULT.with(true, "10.234.0.0/24", "kb", 7855, "127.0.0.1:0", List.of("127.0.0.1:9")));
  }

  /** The daemon keeps its host nft table for sandboxes it leaves running; the bench leaves none. */
  static void removeHostTable() {
    dev.kiln.host.CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", "kb_host"), Duration.ofSeconds(10));
  }

  public void run() throws Exception {
    Path rootfs = work.resolve("rootfs");
    BusyboxRootfs.create(rootfs);
    // Snapshots are taken by hand below, so that cold creates are measured before one exists.
    KilnConfig config = daemonConfig(work, artifacts);
    try (KilnDaemon daemon = new KilnDaemon(config, Optional.of(key))) {
      daemon.start();
      base = "http://127.0.0.1:" + daemon.port();
      api = new BenchApi(http, new ObjectMapper(), base, b -> b.header("Authorization", "Bearer " + key));
      Template t = daemon.templates().build(TEMPLATE, new TemplateSource.Directory(rootfs.toAbsolutePath()), 256, Optional.empty());
      Accelerator accel = Accelerator.resolve(config.accelerator(), Path.of("/sys/module"), Path.of("/dev/kvm"));
      report.fact("rounds", rounds);
      report.fact("fileMib", fileMib);
      report.fact("accelerator", accel.name());
      report.fact("guest", artifacts.id());
      report.fact("guestKernel", artifacts.kernelFlavor());
      report.say(String.format("kiln bench: %d rounds, %d MiB files, accelerator=%s, guest=%s (%s kernel)", rounds, fileMib, accel, artifacts.id(),
          artifacts.kernelFlavor().isEmpty() ? "unnamed" : artifacts.kernelFlavor()));
      // First, while no VM runs: the CLI's start as a process, beside curl.
      Optional<CliStart> cliStart = CliStart.of(base, key, report);
      if (cliStart.isPresent()) cliStart.get().measure(rounds * 2);
      RawFloors.BootSamples floors = new RawFloors.BootSamples(new Stats("cold boot to agent ready (raw QEMU, floor)", "ms"),
          new Stats("exec `true` round trip, raw agent channel", "ms"), new Stats("start to first output byte, raw agent channel", "ms"),
          new Stats("file upload, raw agent channel", "MiB/s"), new Stats("file download, raw agent channel", "MiB/s"));
      for (int i = 0; i < rounds; i++) raw.boot(t.rootfs().orElseThrow(), i, floors);
      Stats create = new Stats("create to first exec answered, cold boot (API)", "ms");
      createRounds(create, TEMPLATE, "");
      // q35 beside microvm, before any snapshot exists: a cold boot.
      Stats q35Create = new Stats("create to first exec answered, cold boot, q35 (API)", "ms");
      createRounds(q35Create, TEMPLATE, Q35);
      Stats q35Exec = new Stats("exec `true` round trip, q35 (API)", "ms");
      String q35 = createSandbox(TEMPLATE, Q35);
      execRounds(q35, q35Exec);
      api.delete(q35);
      daemon.sandboxes().snapshot(TEMPLATE);
      Path snapshot = daemon.templates().snapshotPointers().current(TEMPLATE, false).orElseThrow();
      Stats restore = new Stats("restore to first exec answered (raw QEMU, floor)", "ms");
      Stats limitedRestore = new Stats("restore to first exec answered, raw QEMU in a control group with its limits", "ms");
      Stats rawSave = new Stats("save state (raw QMP migrate, floor)", "ms");
      Stats rawLoad = new Stats("load state to first exec answered (raw QEMU, floor)", "ms");
      for (int i = 0; i < rounds; i++) {
        raw.restoreSaveLoad(snapshot, i, restore, rawSave, rawLoad);
        raw.limitedRestore(snapshot, i, limitedRestore);
      }
      Stats fromSnapshot = new Stats("create to first exec answered, from snapshot (API)", "ms");
      createRounds(fromSnapshot, TEMPLATE, "");
      // The same image as a q35 template: its snapshot is taken on q35 (with room to hot-plug).
      daemon.templates().build("bench-q35", new TemplateSource.Directory(rootfs.toAbsolutePath()), 256, Optional.of(Machine.Q35));
      daemon.sandboxes().snapshot("bench-q35");
      Stats q35FromSnapshot = new Stats("create to first exec answered, from snapshot, q35 (API)", "ms");
      createRounds(q35FromSnapshot, "bench-q35", "");
      Stats networked = new Stats("create to first exec answered, from snapshot, network internet (API)", "ms");
      if (daemon.proxyAddress().isPresent()) createRounds(networked, TEMPLATE, NETWORKED);
      Stats apiExec = new Stats("exec `true` round trip (API)", "ms");
      Stats apiFirstOutput = new Stats("start to first output byte (API, WebSocket)", "ms");
      Stats apiUp = new Stats("file upload (API)", "MiB/s");
      Stats apiDown = new Stats("file download (API)", "MiB/s");
      Stats pause = new Stats("pause (API)", "ms");
      Stats resume = new Stats("resume to first exec answered (API)", "ms");
      sandboxRounds(apiExec, apiFirstOutput, apiUp, apiDown, pause, resume);
      Stats rawClaim = new Stats("warmed paused clone: cont to first exec (raw)", "ms");
      Stats claim = new Stats("create to first exec answered, warm pool (API)", "ms");
      for (int i = 0; i < rounds; i++) raw.claim(snapshot, i, rawClaim);
      claimRounds(daemon, claim);
      Stats rawFork = new Stats("10 restores of a checkpoint to first exec (raw)", "ms");
      Stats limitedFork = new Stats("10 restores of a checkpoint to first exec, raw QEMU in control groups with their limits", "ms");
      Stats fork = new Stats("fork of 10 to first exec in each (API)", "ms");
      forkRounds(daemon, rawFork, limitedFork, fork);
      for (Stats s : List.of(floors.boot(), create, q35Create, restore, limitedRestore, fromSnapshot, q35FromSnapshot, floors.exec(), apiExec, q35Exec,
          floors.firstOutput(), apiFirstOutput, floors.up(), apiUp, floors.down(), apiDown, rawSave, pause, rawLoad, resume, rawClaim, claim, rawFork, limitedFork, fork)) {
        report.line(s);
      }
      report.compare("exec `true` round trip", apiExec, floors.exec(), new Goal.AtMostOver(1));
      report.compare("start to first output byte", apiFirstOutput, floors.firstOutput(), new Goal.AtMostOver(2));
      report.compare("warm-pool claim to first exec", claim, rawClaim, new Goal.AtMostTimes(1.3));
      report.compare("resume to first exec", resume, rawLoad, new Goal.AtMostTimes(1.15));
      report.compare("fork of 10 to first exec in each", fork, rawFork, new Goal.AtMostTimes(1.2));
      report.compare("create from snapshot to first exec", fromSnapshot, restore, new Goal.AtMostTimes(1.1));
      report.compare("create, cold boot, to first exec", create, floors.boot());
      report.compare("pause", pause, rawSave);
      report.compare("file upload", apiUp, floors.up());
      report.compare("file download", apiDown, floors.down());
      report.compare("raw restore in a control group", limitedRestore, restore);
      report.compare("raw fork of 10 in control groups", limitedFork, rawFork);
      report.compare("q35 create from snapshot (vs microvm)", q35FromSnapshot, fromSnapshot);
      report.compare("q35 exec round trip (vs microvm)", q35Exec, apiExec);
      if (daemon.proxyAddress().isPresent()) {
        report.line(networked);
        report.compare("networked create from snapshot (vs none)", networked, fromSnapshot);
        new ProxyBench(api, http, report, rounds, fileMib).measure(TEMPLATE, daemon.proxyAddress().orElseThrow().getPort());
      } else {
        report.note("network lines skipped: " + NetworkService.unavailableReason().orElse("networking is off"));
      }
      E2bBench.of(Path.of(System.getProperty("kiln.root", ".")).toAbsolutePath(), report).ifPresent(e2b -> {
        try {
          e2b.measure(daemon, api, base, key, work, rounds * 6);
        } catch (Exception e) {
          throw new IllegalStateException("the E2B line failed: " + e.getMessage(), e);
        }
      });
      cliStart.ifPresent(CliStart::print);
      // The cluster's paths last, with this daemon idle: no VM of it runs any more.
      try (ObjectStore bucket = cluster.bucket().map(ObjectStores::open).orElseGet(() -> new LocalObjectStore(work.resolve("bucket")))) {
        bucket.check();
        new BucketPull(bucket, cluster.bucket().isPresent() ? "the bucket" : "a directory bucket", work, rounds, report).measure(t.rootfs().orElseThrow());
      }
      new ClusterBench(work, rootfs, artifacts, rounds, key, report).run(cluster.database());
      report.finish();
    } finally {
      removeHostTable();
    }
  }

  private void createRounds(Stats stats, String template, String extra) throws Exception {
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      String id = createSandbox(template, extra);
      api.exec(id);
      stats.add(ms(t0));
      api.delete(id);
    }
  }

  private void execRounds(String id, Stats stats) throws Exception {
    for (int i = 0; i < rounds * 6; i++) {
      long t0 = System.nanoTime();
      api.exec(id);
      stats.add(ms(t0));
    }
  }

  /** One sandbox from the snapshot: execs, streamed starts, a file each way, then pauses and resumes. */
  private void sandboxRounds(Stats exec, Stats firstOutput, Stats up, Stats down, Stats pause, Stats resume) throws Exception {
    String id = createSandbox(TEMPLATE, "");
    Path blob = work.resolve("blob");
    Files.write(blob, randomBytes(fileMib * MIB));
    execRounds(id, exec);
    // Streaming: a background process started and followed over its WebSocket, through the SDK.
    Sandbox sdkSandbox = Sandbox.connect(new Kiln(base, key), id);
    for (int i = 0; i < rounds * 6; i++) {
      CompletableFuture<Double> first = new CompletableFuture<>();
      long t0 = System.nanoTime();
      try (CommandHandle h = sdkSandbox.commands().start(List.of("echo", "x"), Map.of(), b -> first.complete(ms(t0)), b -> { })) {
        firstOutput.add(first.get(30, TimeUnit.SECONDS));
        h.await(Duration.ofSeconds(30));
      }
    }
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      api.upload(id, "/tmp/blob", blob);
      up.add(fileMib / secs(t0));
      t0 = System.nanoTime();
      api.download(id, "/tmp/blob");
      down.add(fileMib / secs(t0));
    }
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      api.post(id, "pause");
      pause.add(ms(t0));
      t0 = System.nanoTime();
      api.post(id, "resume");
      api.exec(id);
      resume.add(ms(t0));
    }
    api.delete(id);
  }

  /** Creates that claim a warm-pool VM; the pool refills (untimed) between rounds. */
  private void claimRounds(KilnDaemon daemon, Stats stats) throws Exception {
    daemon.sandboxes().pools().configure(TEMPLATE, 1, 1);
    for (int i = 0; i < rounds; i++) {
      awaitPoolReady(daemon);
      long t0 = System.nanoTime();
      String id = createSandbox(TEMPLATE, "");
      api.exec(id);
      stats.add(ms(t0));
      api.delete(id);
    }
    daemon.sandboxes().pools().remove(TEMPLATE);
  }

  private static void awaitPoolReady(KilnDaemon daemon) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (daemon.sandboxes().pools().list().stream().noneMatch(p -> p.ready() > 0 && !p.filling())) {
      if (System.nanoTime() > deadline) throw new IllegalStateException("the warm pool did not fill: " + daemon.sandboxes().pools().list());
      Thread.sleep(50);
    }
  }

  /**
   * Forks of 10 from one checkpoint of a sandbox restored from the template snapshot, against 10
   * raw restores of the same checkpoint state, each on its own overlay, run as many at a time.
   */
  private void forkRounds(KilnDaemon daemon, Stats rawStats, Stats limitedStats, Stats apiStats) throws Exception {
    String source = createSandbox(TEMPLATE, "");
    api.postJson("/v1/sandboxes/" + source + "/checkpoints", "{\"name\":\"bench\"}");
    Checkpoints.Saved saved = daemon.sandboxes().checkpoints().saved(source, "bench");
    for (int i = 0; i < rounds; i++) {
      rawForks(saved, "fork-" + i, false, rawStats);
      rawForks(saved, "limited-fork-" + i, true, limitedStats);
      long t0 = System.nanoTime();
      List<String> forks = new ArrayList<>();
      api.postJson("/v1/sandboxes/" + source + "/fork", "{\"count\":10,\"checkpoint\":\"bench\"}").path("sandboxes").forEach(n -> forks.add(n.path("id").asText()));
      // The first command in each at once, as a client that forked ten to use them does (and as the floor's restores do theirs).
      try (var clients = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<?>> firsts = new ArrayList<>();
        for (String f : forks) {
          firsts.add(clients.submit(() -> {
            api.exec(f);
            return null;
          }));
        }
        for (Future<?> first : firsts) first.get();
      }
      apiStats.add(ms(t0));
      for (String f : forks) api.delete(f);
    }
    api.delete(source);
  }

  /** Ten raw restores of a checkpoint, as many at a time as the daemon's forks, timed until the last has answered; then stopped. */
  private void rawForks(Checkpoints.Saved saved, String prefix, boolean limited, Stats stats) throws Exception {
    long t0 = System.nanoTime();
    List<Future<RunningVm>> started = new ArrayList<>();
    try (var pool = Executors.newFixedThreadPool(Forks.FORK_PARALLELISM)) {
      for (int k = 0; k < 10; k++) {
        String name = prefix + "-" + k;
        started.add(pool.submit(() -> raw.restoreCheckpoint(saved, name, limited)));
      }
    }
    stats.add(ms(t0));
    // All ten stay up until the last has answered, as the API's forks do.
    for (Future<RunningVm> f : started) RawFloors.stop(f.get());
  }

  private String createSandbox(String template, String extra) throws Exception {
    return api.create("{\"template\":\"" + template + "\",\"memoryMib\":512" + extra + "}");
  }

  static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    new java.util.Random(42).nextBytes(b);
    return b;
  }

  static double ms(long t0) {
    return (System.nanoTime() - t0) / 1e6;
  }

  static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
