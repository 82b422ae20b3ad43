package dev.kiln.bench;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.GuestFileInput;
import dev.kiln.blob.LocalObjectStore;
import dev.kiln.blob.ObjectStore;
import dev.kiln.blob.ObjectStores;
import dev.kiln.config.DatabaseConfig;
import dev.kiln.config.KilnConfig;
import dev.kiln.config.ObjectStoreConfig;
import dev.kiln.config.NetworkConfig;
import dev.kiln.net.NetworkService;
import dev.kiln.daemon.KilnDaemon;
import dev.kiln.host.AtomicFiles;
import dev.kiln.host.HostFacts;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.image.Template;
import dev.kiln.sandbox.Checkpoints;
import dev.kiln.sdk.CommandHandle;
import dev.kiln.sdk.Kiln;
import dev.kiln.sdk.Sandbox;
import dev.kiln.sandbox.SandboxManager;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.Machine;
import dev.kiln.vmm.QemuBackend;
import dev.kiln.vmm.GuestMemory;
import dev.kiln.vmm.Overlay;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmSpec;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Measures Kiln's main paths and, in the same run, the floor each is built on: a VM booted and
 * handshaken with no daemon around it, and execs and file transfers over a raw agent channel. The
 * ratios say what Kiln's layers cost; absolute numbers depend on the host (TCG here).
 */
public final class Bench {
  private static final int MIB = 1 << 20;
  private final Path work;
  private final GuestArtifacts artifacts;
  private final int rounds;
  private final int fileMib;
  private final ClusterOptions cluster;
  private final HttpClient http = HttpClient.newHttpClient();
  private final String key;
  private String base;
  /** The daemon's record of each template's current snapshot, which the raw floors restore from. */
  private dev.kiln.image.SnapshotPointers snapshotPointers;
  /** Resolved once: resolving logs why TCG was chosen. */
  private Accelerator accel;
  private QemuBackend rawBackend;
  private QemuBackend limitedBackend;

  /**
   * Where the cluster lines get what a cluster has: a PostgreSQL database (empty: a throwaway server
   * if PostgreSQL 15 is installed, else the lines are skipped) and a bucket (empty: a directory).
   */
  public record ClusterOptions(Optional<DatabaseConfig> database, Optional<ObjectStoreConfig> bucket) {}

  public Bench(Path work, GuestArtifacts artifacts, int rounds, int fileMib, ClusterOptions cluster) {
    this.work = work;
    this.artifacts = artifacts;
    this.rounds = rounds;
    this.fileMib = fileMib;
    this.cluster = cluster;
    byte[] k = new byte[16];
    new SecureRandom().nextBytes(k);
    this.key = "bench-" + HexFormat.of().formatHex(k);
  }

  public void run() throws Exception {
    Path rootfs = work.resolve("rootfs");
    BusyboxRootfs.create(rootfs);
    // Snapshots are taken by hand below, so that cold creates are measured before one exists.
    KilnConfig config = KilnConfig.defaults().withDataDir(work.resolve("data")).withListen("127.0.0.1:0")
        .withGuestArtifacts(artifacts.kernel().getParent()).withTemplateSnapshots(false)
        .withNetwork(NetworkConfig.DEFAULT.with(true, "10.234.0.0/24", "kb", 7855, "127.0.0.1:0", List.of("127.0.0.1:9")));
    try (KilnDaemon daemon = new KilnDaemon(config, Optional.of(key))) {
      daemon.start();
      snapshotPointers = daemon.templates().snapshotPointers();
      base = "http://127.0.0.1:" + daemon.port();
      Template t = daemon.templates().build("bench", new dev.kiln.image.TemplateSource.Directory(rootfs.toAbsolutePath()), 256, Optional.empty());
      System.out.printf("kiln bench: %d rounds, %d MiB files, accelerator=%s, guest=%s%n", rounds, fileMib,
          Accelerator.resolve(config.accelerator(), Path.of("/sys/module"), Path.of("/dev/kvm")), artifacts.id());
      // First, while no VM runs: the CLI's start as a process, beside curl.
      Optional<CliStart> cliStart = CliStart.of(base, key);
      if (cliStart.isPresent()) cliStart.get().measure(rounds * 2);
      Stats boot = new Stats("cold boot to agent ready (raw QEMU, floor)");
      Stats rawExec = new Stats("exec `true` round trip, raw agent channel");
      Stats rawUp = new Stats("file upload, raw agent channel");
      Stats rawDown = new Stats("file download, raw agent channel");
      Stats rawSave = new Stats("save state (raw QMP migrate, floor)");
      Stats rawLoad = new Stats("load state to first exec answered (raw QEMU, floor)");
      Stats rawFirstOutput = new Stats("start to first output byte, raw agent channel");
      for (int i = 0; i < rounds; i++) rawRound(t, i, boot, rawExec, rawFirstOutput, rawUp, rawDown);
      Stats create = new Stats("create to first exec answered, cold boot (API)");
      createRounds(create);
      // q35 beside microvm, before any snapshot exists: a cold boot.
      Stats q35Create = new Stats("create to first exec answered, cold boot, q35 (API)");
      createRounds(q35Create, Q35);
      Stats q35Exec = new Stats("exec `true` round trip, q35 (API)");
      String q35 = createSandbox(Q35);
      for (int i = 0; i < rounds * 6; i++) {
        long t0 = System.nanoTime();
        exec(q35);
        q35Exec.add(ms(t0));
      }
      delete(q35);
      daemon.sandboxes().snapshot("bench");
      Stats restore = new Stats("restore to first exec answered (raw QEMU, floor)");
      Stats limitedRestore = new Stats("restore to first exec answered, raw QEMU in a control group with its limits");
      for (int i = 0; i < rounds; i++) {
        rawRestore(t, i, restore, rawSave, rawLoad);
        limitedRestore(t, i, limitedRestore);
      }
      Stats fromSnapshot = new Stats("create to first exec answered, from snapshot (API)");
      createRounds(fromSnapshot);
      // The same image as a q35 template: its snapshot is taken on q35 (with room to hot-plug).
      daemon.templates().build("bench-q35", new dev.kiln.image.TemplateSource.Directory(rootfs.toAbsolutePath()), 256, Optional.of(Machine.Q35));
      daemon.sandboxes().snapshot("bench-q35");
      Stats q35FromSnapshot = new Stats("create to first exec answered, from snapshot, q35 (API)");
      createRounds(q35FromSnapshot, "bench-q35", "");
      Stats networked = new Stats("create to first exec answered, from snapshot, network internet (API)");
      if (daemon.proxyAddress().isPresent()) createRounds(networked, NETWORKED);
      Stats apiExec = new Stats("exec `true` round trip (API)");
      Stats apiUp = new Stats("file upload (API)");
      Stats apiDown = new Stats("file download (API)");
      String id = createSandbox();
      Path blob = work.resolve("blob");
      Files.write(blob, randomBytes(fileMib * MIB));
      for (int i = 0; i < rounds * 6; i++) {
        long t0 = System.nanoTime();
        exec(id);
        apiExec.add(ms(t0));
      }
      // Streaming: a background process started and followed over its WebSocket, through the SDK.
      Stats apiFirstOutput = new Stats("start to first output byte (API, WebSocket)");
      Sandbox sdkSandbox = Sandbox.connect(new Kiln(base, key), id);
      for (int i = 0; i < rounds * 6; i++) {
        java.util.concurrent.CompletableFuture<Double> first = new java.util.concurrent.CompletableFuture<>();
        long t0 = System.nanoTime();
        try (CommandHandle h = sdkSandbox.commands().start(List.of("echo", "x"), java.util.Map.of(), b -> first.complete(ms(t0)), b -> { })) {
          apiFirstOutput.add(first.get(30, java.util.concurrent.TimeUnit.SECONDS));
          h.await(Duration.ofSeconds(30));
        }
      }
      for (int i = 0; i < rounds; i++) {
        long t0 = System.nanoTime();
        send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/files?path=/tmp/blob")).PUT(HttpRequest.BodyPublishers.ofFile(blob)));
        apiUp.add(fileMib / secs(t0));
        t0 = System.nanoTime();
        HttpResponse<InputStream> r = http.send(auth(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/files?path=/tmp/blob"))).build(),
            HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
          in.transferTo(java.io.OutputStream.nullOutputStream());
        }
        apiDown.add(fileMib / secs(t0));
      }
      Stats pause = new Stats("pause (API)");
      Stats resume = new Stats("resume to first exec answered (API)");
      for (int i = 0; i < rounds; i++) {
        long t0 = System.nanoTime();
        send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/pause")).POST(HttpRequest.BodyPublishers.noBody()));
        pause.add(ms(t0));
        t0 = System.nanoTime();
        send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/resume")).POST(HttpRequest.BodyPublishers.noBody()));
        exec(id);
        resume.add(ms(t0));
      }
      delete(id);
      Stats rawClaim = new Stats("warmed paused clone: cont to first exec (raw)");
      Stats claim = new Stats("create to first exec answered, warm pool (API)");
      for (int i = 0; i < rounds; i++) rawClaim(t, i, rawClaim);
      claimRounds(daemon, claim);
      Stats rawFork = new Stats("10 restores of a checkpoint to first exec (raw)");
      Stats fork = new Stats("fork of 10 to first exec in each (API)");
      forkRounds(daemon, rawFork, fork);
      System.out.println(boot.line("ms"));
      System.out.println(create.line("ms"));
      System.out.println(q35Create.line("ms"));
      System.out.println(restore.line("ms"));
      System.out.println(limitedRestore.line("ms"));
      System.out.println(fromSnapshot.line("ms"));
      System.out.println(q35FromSnapshot.line("ms"));
      System.out.println(rawExec.line("ms"));
      System.out.println(apiExec.line("ms"));
      System.out.println(q35Exec.line("ms"));
      System.out.println(rawFirstOutput.line("ms"));
      System.out.println(apiFirstOutput.line("ms"));
      System.out.println(rawUp.line("MiB/s"));
      System.out.println(apiUp.line("MiB/s"));
      System.out.println(rawDown.line("MiB/s"));
      System.out.println(apiDown.line("MiB/s"));
      System.out.println(rawSave.line("ms"));
      System.out.println(pause.line("ms"));
      System.out.println(rawLoad.line("ms"));
      System.out.println(resume.line("ms"));
      System.out.println(rawClaim.line("ms"));
      System.out.println(claim.line("ms"));
      System.out.println(rawFork.line("ms"));
      System.out.println(fork.line("ms"));
      if (daemon.proxyAddress().isPresent()) {
        System.out.println(networked.line("ms"));
        proxyRounds(daemon);
        System.out.printf("networking adds %.0f ms to a create from snapshot (medians, %.2f of the create without)%n",
            networked.median() - fromSnapshot.median(), networked.median() / fromSnapshot.median());
      } else {
        System.out.println("network lines skipped: " + NetworkService.unavailableReason().orElse("networking is off"));
      }
      Optional<E2bBench> e2b = E2bBench.of(Path.of(System.getProperty("kiln.root", ".")).toAbsolutePath());
      if (e2b.isPresent()) {
        BenchApi api = new BenchApi(http, new com.fasterxml.jackson.databind.ObjectMapper(), base, b -> b.header("Authorization", "Bearer " + key));
        e2b.get().measure(daemon, api, base, key, work, rounds * 6);
      }
      System.out.printf("limits (cgroup per VM) add %.1f ms to a raw restore (medians, %.2f of the restore without)%n",
          limitedRestore.median() - restore.median(), limitedRestore.median() / restore.median());
      cliStart.ifPresent(CliStart::print);
      System.out.printf("ratios: create/boot %.2f, snapshot create/raw restore %.2f, cold create/snapshot create %.1fx, api exec/raw exec %.2f, "
          + "api upload/raw upload %.2f, api download/raw download %.2f%n", create.median() / boot.median(), fromSnapshot.median() / restore.median(),
          create.median() / fromSnapshot.median(), apiExec.median() / rawExec.median(), apiUp.median() / rawUp.median(), apiDown.median() / rawDown.median());
      System.out.printf("ratios: streamed first output/raw %.2f%n", apiFirstOutput.median() / rawFirstOutput.median());
      System.out.printf("ratios: q35/microvm snapshot create %.2f, q35 cold create/q35 snapshot create %.1fx, q35/microvm exec %.2f%n",
          q35FromSnapshot.median() / fromSnapshot.median(), q35Create.median() / q35FromSnapshot.median(), q35Exec.median() / apiExec.median());
      System.out.printf("ratios: pause/raw save %.2f, resume/raw load %.2f, pool claim/raw cont %.2f, snapshot create/pool claim %.1fx, "
          + "fork of 10/raw 10 restores %.2f%n", pause.median() / rawSave.median(), resume.median() / rawLoad.median(),
          claim.median() / rawClaim.median(), fromSnapshot.median() / claim.median(), fork.median() / rawFork.median());
      // The cluster's paths last, with this daemon idle: no VM of it runs any more.
      try (ObjectStore bucket = cluster.bucket().map(ObjectStores::open).orElseGet(() -> new LocalObjectStore(work.resolve("bucket")))) {
        bucket.check();
        new BucketPull(bucket, cluster.bucket().isPresent() ? "the bucket" : "a directory bucket", work, rounds).measure(t.rootfs().orElseThrow());
      }
      new ClusterBench(work, rootfs, artifacts, rounds, key).run(cluster.database());
    } finally {
      // The daemon keeps its host nft table for sandboxes it leaves running; the bench leaves none.
      dev.kiln.host.CommandRunner.runAllowingFailure(List.of("nft", "delete", "table", "ip", "kb_host"), Duration.ofSeconds(10));
    }
  }

  private void createRounds(Stats stats) throws Exception {
    createRounds(stats, "");
  }

  private static final String NETWORKED = ",\"network\":{\"mode\":\"internet\"}";
  private static final String Q35 = ",\"machine\":\"q35\"";

  private void createRounds(Stats stats, String extra) throws Exception {
    createRounds(stats, "bench", extra);
  }

  private void createRounds(Stats stats, String template, String extra) throws Exception {
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      String id = createSandbox(template, extra);
      exec(id);
      stats.add(ms(t0));
      delete(id);
    }
  }

  /** Creates that claim a warm-pool VM; the pool refills (untimed) between rounds. */
  private void claimRounds(KilnDaemon daemon, Stats stats) throws Exception {
    daemon.sandboxes().pools().configure("bench", 1, 1);
    for (int i = 0; i < rounds; i++) {
      awaitPoolReady(daemon);
      long t0 = System.nanoTime();
      String id = createSandbox();
      exec(id);
      stats.add(ms(t0));
      delete(id);
    }
    daemon.sandboxes().pools().remove("bench");
  }

  private static void awaitPoolReady(KilnDaemon daemon) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
    while (daemon.sandboxes().pools().list().stream().noneMatch(p -> p.ready() > 0 && !p.filling())) {
      if (System.nanoTime() > deadline) throw new IllegalStateException("the warm pool did not fill: " + daemon.sandboxes().pools().list());
      Thread.sleep(50);
    }
  }

  /** The floor of a pool claim: a clone restored and left paused beforehand, then let run and handshaken. */
  private void rawClaim(Template t, int i, Stats stats) throws Exception {
    VmSpec spec = rawClone(t, "claim-" + i);
    RunningVm vm = backend().restorePaused(spec, snapshotDir(t).resolve("state"), Duration.ofSeconds(60));
    try {
      // Warmed as the pool warms its VMs: run once (HELLO and a command), then paused again.
      vm.resume();
      helloAndRunTrue(spec);
      vm.pause();
      long t0 = System.nanoTime();
      vm.resume();
      helloAndRunTrue(spec);
      stats.add(ms(t0));
    } finally {
      vm.stop(Duration.ofSeconds(3));
      AtomicFiles.deleteTree(spec.runDir());
    }
  }

  /**
   * Forks of 10 from one checkpoint of a sandbox restored from the template snapshot, against 10
   * raw restores of the same checkpoint state, each on its own overlay, run as many at a time.
   */
  private void forkRounds(KilnDaemon daemon, Stats raw, Stats api) throws Exception {
    String source = createSandbox();
    send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + source + "/checkpoints")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"bench\"}")));
    Checkpoints.Saved saved = daemon.sandboxes().checkpoints().saved(source, "bench");
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      List<Future<RunningVm>> started = new ArrayList<>();
      try (var pool = Executors.newFixedThreadPool(dev.kiln.sandbox.Forks.FORK_PARALLELISM)) {
        for (int k = 0; k < 10; k++) {
          Path dir = work.resolve("fork-" + i + "-" + k);
          started.add(pool.submit(() -> rawRestoreOf(saved, dir)));
        }
      }
      raw.add(ms(t0));
      // All ten stay up until the last has answered, as the API's forks do.
      for (Future<RunningVm> f : started) {
        f.get().stop(Duration.ofSeconds(3));
        AtomicFiles.deleteTree(f.get().spec().runDir());
      }
      t0 = System.nanoTime();
      String body = send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + source + "/fork")).header("Content-Type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString("{\"count\":10,\"checkpoint\":\"bench\"}")));
      List<String> forks = new ArrayList<>();
      new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).path("sandboxes").forEach(n -> forks.add(n.path("id").asText()));
      for (String f : forks) exec(f);
      api.add(ms(t0));
      for (String f : forks) delete(f);
    }
    delete(source);
  }

  /** One raw fork: an overlay on the checkpoint's disk, its state restored, a command answered; left running. */
  private RunningVm rawRestoreOf(Checkpoints.Saved saved, Path dir) throws Exception {
    Files.createDirectories(dir);
    Path overlay = dir.resolve("rootfs.qcow2");
    Overlay.create(overlay, saved.spec().rootDisk(), Overlay.BaseFormat.QCOW2);
    VmSpec spec = saved.spec().renamed("bench-" + dir.getFileName(), dir).withRootDisk(overlay);
    RunningVm vm = backend().restore(spec, saved.state(), Duration.ofSeconds(120));
    helloAndRunTrue(spec);
    return vm;
  }

  private Path snapshotDir(Template t) throws java.io.IOException {
    return snapshotPointers.current(t.name(), false)
        .orElseThrow(() -> new IllegalStateException("template " + t.name() + " has no snapshot"));
  }

  /** A clone of the template snapshot as Kiln makes one (overlay on its disk, its RAM mapped private), in work/{@code name}. */
  private VmSpec rawClone(Template t, String name) throws Exception {
    Path dir = work.resolve(name);
    Files.createDirectories(dir);
    Path overlay = dir.resolve("rootfs.qcow2");
    Overlay.create(overlay, snapshotDir(t).resolve("disk.qcow2"), Overlay.BaseFormat.QCOW2);
    return rawSpec("bench-" + name, dir, overlay).withMemory(new GuestMemory(snapshotDir(t).resolve("memory"), GuestMemory.Mode.CLONE));
  }

  /** The template snapshot restored with no daemon in the way: QEMU start, state load, HELLO. */
  private void rawRestore(Template t, int i, Stats restore, Stats save, Stats load) throws Exception {
    VmSpec spec = rawClone(t, "restore-" + i);
    Path dir = spec.runDir();
    long t0 = System.nanoTime();
    RunningVm vm = backend().restore(spec, snapshotDir(t).resolve("state"), Duration.ofSeconds(60));
    try {
      try (AgentConnection agent = AgentConnection.open(spec.agentSocket(), spec.name(), Duration.ofSeconds(60), null)) {
        runTrue(agent); // what the API path measures too: the first command answered
        restore.add(ms(t0));
        agent.files().write("/tmp/blob", 0644, false, new java.io.ByteArrayInputStream(randomBytes(fileMib * MIB)));
      }
      // The floor of pause and resume: a clone like the API's sandbox (the file in its RAM) saved and loaded by QMP alone.
      Path state = dir.resolve("state");
      long s0 = System.nanoTime();
      vm.saveState(state, Duration.ofMinutes(2));
      save.add(ms(s0));
      vm.stop(Duration.ofSeconds(3));
      long l0 = System.nanoTime();
      vm = backend().restore(spec, state, Duration.ofMinutes(2));
      helloAndRunTrue(spec);
      load.add(ms(l0));
    } finally {
      vm.stop(Duration.ofSeconds(3));
      AtomicFiles.deleteTree(dir);
    }
  }

  /** The raw restore again, with the QEMU put in a control group with its limits first: what the limits cost a start. */
  private void limitedRestore(Template t, int i, Stats stats) throws Exception {
    VmSpec spec = rawClone(t, "limited-" + i);
    long t0 = System.nanoTime();
    RunningVm vm = limitedBackend().restore(spec, snapshotDir(t).resolve("state"), Duration.ofSeconds(60));
    try {
      helloAndRunTrue(spec);
      stats.add(ms(t0));
    } finally {
      vm.stop(Duration.ofSeconds(3));
      AtomicFiles.deleteTree(spec.runDir());
    }
  }

  private QemuBackend limitedBackend() {
    if (limitedBackend == null) {
      backend();
      var cgroups = dev.kiln.vmm.Cgroups.detect(Path.of("/sys/fs/cgroup"), "bench", work).map(dev.kiln.vmm.VmCgroups::new);
      if (cgroups.isEmpty()) throw new IllegalStateException("this host has no cgroups the bench can use for the limits line");
      limitedBackend = QemuBackend.forThisHost(accel, cgroups);
    }
    return limitedBackend;
  }

  /** Boot-to-agent, exec round trips, and a file each way over a raw agent channel. */
  private void measureBootedVm(VmSpec spec, long bootStart, Stats boot, Stats exec, Stats firstOutput, Stats up, Stats down) throws Exception {
    try (AgentConnection agent = AgentConnection.open(spec.agentSocket(), spec.name(), Duration.ofSeconds(120), null)) {
      boot.add(ms(bootStart));
      for (int k = 0; k < 6; k++) {
        long e0 = System.nanoTime();
        runTrue(agent);
        exec.add(ms(e0));
      }
      for (int k = 0; k < 6; k++) {
        long e0 = System.nanoTime();
        try (ExecHandle h = agent.exec(ExecRequest.of("echo", "x"))) {
          while (!(h.next(Duration.ofSeconds(30)) instanceof dev.kiln.agent.ExecEvent.Output)) {
            // STARTED comes first
          }
          firstOutput.add(ms(e0));
          h.awaitExit(Duration.ofSeconds(30));
        }
      }
      byte[] data = randomBytes(fileMib * MIB);
      long u0 = System.nanoTime();
      agent.files().write("/tmp/blob", 0644, false, new java.io.ByteArrayInputStream(data));
      up.add(fileMib / secs(u0));
      long d0 = System.nanoTime();
      try (GuestFileInput in = agent.files().read("/tmp/blob")) {
        in.transferTo(java.io.OutputStream.nullOutputStream());
      }
      down.add(fileMib / secs(d0));
    }
  }

  /** A new agent connection (HELLO) and one command answered: what "first exec" means on every path. */
  private static void helloAndRunTrue(VmSpec spec) throws Exception {
    try (AgentConnection agent = AgentConnection.open(spec.agentSocket(), spec.name(), Duration.ofSeconds(60), null)) {
      runTrue(agent);
    }
  }

  private static void runTrue(AgentConnection agent) throws Exception {
    try (ExecHandle h = agent.exec(ExecRequest.of("true"))) {
      h.awaitExit(Duration.ofSeconds(30));
    }
  }

  private VmSpec rawSpec(String name, Path dir, Path overlay) {
    String cmdline = backend().kernelCmdline(accel, artifacts.cmdline());
    return new VmSpec(name, dir, artifacts.kernel(), artifacts.initrd(), cmdline, overlay, 1, 512, accel);
  }

  /**
   * The raw floors' backend, made once: making one looks up the VMM user and reads the host's TSC
   * rate from dmesg, which must not land inside a timed start or restore.
   */
  private QemuBackend backend() {
    if (rawBackend == null) {
      accel = Accelerator.resolve(Accelerator.Choice.AUTO, Path.of("/sys/module"), Path.of("/dev/kvm"));
      rawBackend = QemuBackend.forThisHost(accel);
    }
    return rawBackend;
  }

  /** One VM with no daemon in the way: the floor for boot, exec and file transfer. */
  private void rawRound(Template t, int i, Stats boot, Stats exec, Stats firstOutput, Stats up, Stats down) throws Exception {
    Path dir = work.resolve("raw-" + i);
    Files.createDirectories(dir);
    Path overlay = dir.resolve("rootfs.qcow2");
    Overlay.create(overlay, t.rootfs().orElseThrow(), Overlay.BaseFormat.RAW);
    VmSpec spec = rawSpec("bench-raw-" + i, dir, overlay);
    long t0 = System.nanoTime();
    RunningVm vm = backend().start(spec);
    try {
      measureBootedVm(spec, t0, boot, exec, firstOutput, up, down);
    } finally {
      vm.stop(Duration.ofSeconds(3));
      AtomicFiles.deleteTree(dir);
    }
  }

  /**
   * A guest HTTP server reached directly at the sandbox's address (the floor) and through the
   * port proxy's path route with the access token: small-request latency and large-file rate.
   */
  private void proxyRounds(KilnDaemon daemon) throws Exception {
    var json = new com.fasterxml.jackson.databind.ObjectMapper();
    String id = createSandbox(NETWORKED);
    send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/exec")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"command\":\"mkdir -p /tmp/www && echo hi > /tmp/www/index.html && "
            + "dd if=/dev/urandom of=/tmp/www/big bs=1M count=" + fileMib + " 2>/dev/null && httpd -p 8080 -h /tmp/www\"}")));
    var net = json.readTree(send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id)))).path("network");
    String direct = "http://" + net.path("address").asText() + ":8080/";
    String proxied = "http://127.0.0.1:" + daemon.proxyAddress().orElseThrow().getPort() + "/v1/sandboxes/" + id + "/ports/8080/";
    String token = net.path("accessToken").asText();
    Stats rawGet = new Stats("small GET, direct to the sandbox address (floor)");
    Stats proxyGet = new Stats("small GET through the port proxy");
    Stats rawBig = new Stats("large GET, direct (floor)");
    Stats proxyBig = new Stats("large GET through the port proxy");
    for (int i = 0; i < rounds * 10; i++) {
      long t0 = System.nanoTime();
      fetch(direct + "index.html", token);
      rawGet.add(ms(t0));
      t0 = System.nanoTime();
      fetch(proxied + "index.html", token);
      proxyGet.add(ms(t0));
    }
    for (int i = 0; i < rounds; i++) {
      long t0 = System.nanoTime();
      fetch(direct + "big", token);
      rawBig.add(fileMib / secs(t0));
      t0 = System.nanoTime();
      fetch(proxied + "big", token);
      proxyBig.add(fileMib / secs(t0));
    }
    delete(id);
    System.out.println(rawGet.line("ms"));
    System.out.println(proxyGet.line("ms"));
    System.out.println(rawBig.line("MiB/s"));
    System.out.println(proxyBig.line("MiB/s"));
    System.out.printf("ratios: proxied/direct small GET %.2f (+%.1f ms), proxied/direct large GET rate %.2f%n", proxyGet.median() / rawGet.median(),
        proxyGet.median() - rawGet.median(), proxyBig.median() / rawBig.median());
  }

  private void fetch(String url, String token) throws Exception {
    HttpResponse<InputStream> r = http.send(HttpRequest.newBuilder(URI.create(url)).header("X-Kiln-Access-Token", token).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream in = r.body()) {
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    if (r.statusCode() != 200) throw new IllegalStateException(url + " answered " + r.statusCode());
  }

  private String createSandbox() throws Exception {
    return createSandbox("");
  }

  private String createSandbox(String extra) throws Exception {
    return createSandbox("bench", extra);
  }

  private String createSandbox(String template, String extra) throws Exception {
    String body = send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"template\":\"" + template + "\",\"memoryMib\":512" + extra + "}")));
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(body).path("id").asText();
  }

  private void exec(String id) throws Exception {
    send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id + "/exec")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"argv\":[\"true\"]}")));
  }

  private void delete(String id) throws Exception {
    send(HttpRequest.newBuilder(URI.create(base + "/v1/sandboxes/" + id)).DELETE());
  }

  private String send(HttpRequest.Builder b) throws Exception {
    HttpResponse<String> r = http.send(auth(b).build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) throw new IllegalStateException("HTTP " + r.statusCode() + ": " + r.body());
    return r.body();
  }

  private HttpRequest.Builder auth(HttpRequest.Builder b) {
    return b.header("Authorization", "Bearer " + key);
  }

  private static byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    new java.util.Random(42).nextBytes(b);
    return b;
  }

  private static double ms(long t0) {
    return (System.nanoTime() - t0) / 1e6;
  }

  private static double secs(long t0) {
    return (System.nanoTime() - t0) / 1e9;
  }
}
