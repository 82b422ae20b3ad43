package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.ExecEvent;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.MigrationSettings;
import dev.kiln.vmm.MigrationStats;
import dev.kiln.vmm.Overlay;
import dev.kiln.vmm.QemuBackend;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;

/**
 * kiln bench's live migration lines (docs/adr/0019): a 256 MiB sandbox moved between two nodes
 * through a control instance, idle and with a process dirtying its memory without pause, beside
 * the floor of the same VM (same rootfs, RAM and machine) moved by QEMU alone from one QEMU to
 * another on this host. Each line gives the whole move, the guest's downtime as the guest saw it
 * and the bytes QEMU sent. The downtime is the guest's: from its stop for the last pass until it
 * runs on the other side with its agent session taken back, on the source's clock. Not from a
 * ticker inside the guest: its clocks stand still with it (TCG stops guest time while the VM is
 * stopped, and KVM's migrated kvmclock does too), so a ticker sees no gap; only a clock set from
 * outside after the move would, and that mixes in how far the guest's clock had drifted.
 */
final class MigrationBench {
  private static final long MIB = 1 << 20;
  private static final int MEMORY_MIB = 256;
  /** Rewrites 48 MiB of its RAM over and over, with bytes that are not zero (QEMU sends zero pages as a flag). */
  private static final String DIRTIER = "sh -c 'while :; do yes abcdefghijklmnop | head -c 50331648 > /tmp/dirty; done' </dev/null >/dev/null 2>&1 &";
  private static final Duration TIMEOUT = Duration.ofMinutes(5);
  private final Path work;
  private final int rounds;
  private final GuestArtifacts artifacts;

  private final BenchReport report;

  MigrationBench(Path work, int rounds, GuestArtifacts artifacts, BenchReport report) {
    this.report = report;
    this.work = work;
    this.rounds = rounds;
    this.artifacts = artifacts;
  }

  /** One scenario's samples: whole move, guest-seen downtime, MiB sent. */
  private record Samples(Stats total, Stats downtime, Stats sent) {
    static Samples of(String what) {
      return new Samples(new Stats(what + ": whole move", "ms"), new Stats(what + ": guest downtime", "ms"), new Stats(what + ": sent", "MiB"));
    }

    void add(double totalMs, double downtimeMs, long bytes) {
      total.add(totalMs);
      downtime.add(downtimeMs);
      sent.add(bytes / (double) MIB);
    }

    void print(BenchReport report) {
      report.line(total);
      report.line(downtime);
      report.line(sent);
    }
  }

  /** Kiln's moves through {@code hop} between the two nodes, then the raw floor on {@code rootfs} (the template's image), printed with their ratios. */
  void measure(BenchApi hop, String template, String nodeA, String nodeB, Path rootfs) throws Exception {
    for (boolean dirty : new boolean[] {false, true}) {
      String what = dirty ? "dirtying RAM" : "idle";
      Samples kiln = Samples.of("live migration, " + what + ", " + MEMORY_MIB + " MiB sandbox, through a control instance");
      Samples raw = Samples.of("raw QEMU-to-QEMU migration, " + what + ", " + MEMORY_MIB + " MiB VM");
      kilnMoves(hop, template, nodeA, nodeB, dirty, kiln);
      rawMoves(rootfs, dirty, raw);
      kiln.print(report);
      raw.print(report);
      report.note(String.format("ratios: live migration %s/raw floor: whole move %.2f (%+.0f ms), downtime %.2f (%+.0f ms), sent %.2f", what,
          kiln.total().median() / raw.total().median(), kiln.total().median() - raw.total().median(), kiln.downtime().median() / raw.downtime().median(),
          kiln.downtime().median() - raw.downtime().median(), kiln.sent().median() / raw.sent().median()));
    }
  }

  /** One sandbox moved back and forth between the nodes, {@code rounds} times. */
  private void kilnMoves(BenchApi hop, String template, String nodeA, String nodeB, boolean dirty, Samples out) throws Exception {
    String id = hop.create("{\"template\":\"" + template + "\",\"memoryMib\":" + MEMORY_MIB + ",\"timeoutSeconds\":0,\"node\":\"" + nodeA + "\"}");
    try {
      if (dirty) hop.sh(id, DIRTIER);
      for (int i = 0; i < rounds; i++) {
        long t0 = System.nanoTime();
        JsonNode moved = hop.postJson("/v1/sandboxes/" + id + "/migrate", "{\"node\":\"" + (i % 2 == 0 ? nodeB : nodeA) + "\"}");
        out.add(ms(t0), moved.path("downtimeMs").asDouble(), moved.path("sentBytes").asLong());
        hop.exec(id);
      }
    } finally {
      hop.delete(id);
    }
  }

  /** The same VM with no daemon: booted once, then moved between two run directories, QEMU to QEMU, {@code rounds} times. */
  private void rawMoves(Path rootfs, boolean dirty, Samples out) throws Exception {
    Accelerator accel = Accelerator.resolve(Accelerator.Choice.AUTO, Path.of("/sys/module"), Path.of("/dev/kvm"));
    QemuBackend backend = QemuBackend.forThisHost(accel);
    String cmdline = backend.kernelCmdline(accel, artifacts.cmdline());
    Path base = work.resolve("raw-migration");
    List<Path> dirs = List.of(base.resolve("a"), base.resolve("b"));
    for (Path d : dirs) Files.createDirectories(d);
    VmSpec spec = new VmSpec("bench-move-a", dirs.get(0), artifacts.kernel(), artifacts.initrd(), cmdline, layer(dirs.get(0), rootfs), 1, MEMORY_MIB, accel);
    RunningVm vm = backend.start(spec);
    try {
      // Booted to its agent first, as the sandbox is: a move during boot would measure the boot.
      run(vm, dirty ? DIRTIER : "true");
      for (int i = 0; i < rounds; i++) {
        Path next = dirs.get((i + 1) % 2);
        VmSpec target = vm.spec().renamed("bench-move-" + next.getFileName(), next).withRootDisk(layer(next, rootfs));
        long t0 = System.nanoTime();
        RunningVm[] arrived = new RunningVm[1];
        MigrationStats stats = vm.migrateOut(new MigrationSettings(Duration.ofMillis(300), 1024 * MIB, TIMEOUT), stream -> {
          try {
            arrived[0] = backend.receive(target, stream, TIMEOUT);
          } catch (VmmException e) {
            throw new IOException(e.getMessage(), e);
          }
        });
        copyInPlace(vm.spec().rootDisk(), target.rootDisk());
        arrived[0].resume();
        // What a node does once the VM runs: take the guest's session back.
        AgentConnection.resume(target.agentSocket(), target.name(), Duration.ofSeconds(30), null).close();
        long running = System.nanoTime();
        out.add(ms(t0), stats.downtimeUntil(running), stats.bytesSent());
        vm.stop(Duration.ofSeconds(3));
        vm = arrived[0];
        run(vm, "true");
      }
    } finally {
      vm.stop(Duration.ofSeconds(3));
      AtomicFiles.deleteTree(base);
    }
  }

  /** A fresh layer on the image in {@code dir} (the run directory's own, replacing the last one there). */
  private static Path layer(Path dir, Path rootfs) throws IOException {
    Path layer = dir.resolve("rootfs.qcow2");
    Files.deleteIfExists(layer);
    Overlay.create(layer, rootfs, Overlay.BaseFormat.RAW);
    return layer;
  }

  /** The source's top layer into the file the target QEMU opened, as a node writes the one it receives. */
  private static void copyInPlace(Path from, Path to) throws IOException {
    try (FileChannel in = FileChannel.open(from); FileChannel out = FileChannel.open(to, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long at = 0, n = in.size(); at < n; ) at += out.transferFrom(in, at, n - at);
      out.force(true);
    }
  }

  /** A shell command in the raw VM over a resumed session (its background ticker lives on); its output. */
  private static String run(RunningVm vm, String command) throws Exception {
    try (AgentConnection agent = AgentConnection.resume(vm.spec().agentSocket(), vm.spec().name(), Duration.ofSeconds(120), null);
         ExecHandle h = agent.exec(ExecRequest.shell(command))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      while (true) {
        ExecEvent ev = h.next(Duration.ofSeconds(60));
        if (ev == null) throw new IllegalStateException("'" + command + "' did not end within 60 s");
        if (ev instanceof ExecEvent.Output o && !o.stderr()) out.write(o.data());
        if (ev instanceof ExecEvent.Exited) return out.toString(StandardCharsets.UTF_8);
      }
    }
  }

  private static double ms(long t0) {
    return (System.nanoTime() - t0) / 1e6;
  }
}
