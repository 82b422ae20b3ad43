package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.ExecEvent;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.host.AtomicFiles;
import dev.kiln.host.CommandRunner;
import dev.kiln.host.HostFacts;
import dev.kiln.image.BusyboxRootfs;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.sandbox.SandboxManager;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VMM interface on both machines, with real VMs: boot to the agent, exec, pause and resume,
 * disk growth, a frozen disk layer, save and restore from file-backed RAM and then with all RAM in
 * the stream; on q35, CPU and memory hot-plug seen by the guest and kept across a save and restore.
 */
@Tag("system")
class MachinesSystemTest {
  private static final Logger log = LoggerFactory.getLogger(MachinesSystemTest.class);
  private static final Path REPO = Path.of(System.getProperty("kiln.repo", "..")).toAbsolutePath().normalize();
  private static final Duration AGENT_WAIT = Duration.ofSeconds(120);
  private static final Duration STATE_TIMEOUT = Duration.ofSeconds(60);
  private static final long MIB = 1 << 20;

  private static Path work;
  private static Path baseImage;
  private static GuestArtifacts artifacts;
  private static String cmdline;
  private static final Accelerator ACCEL = Accelerator.resolve(Accelerator.Choice.AUTO, Path.of("/sys/module"), Path.of("/dev/kvm"));
  private static final QemuBackend BACKEND = QemuBackend.forThisHost(ACCEL);
  private final List<RunningVm> started = new ArrayList<>();

  @BeforeAll
  static void rootfs() throws Exception {
    artifacts = GuestArtifacts.load(REPO.resolve("build/guest/current"));
    cmdline = BACKEND.kernelCmdline(ACCEL, artifacts.cmdline());
    // o+x: each QEMU runs as an unprivileged uid of its own and must reach its run directories.
    work = Files.createTempDirectory(Path.of("/tmp"), "kq", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx--x--x")));
    Path tree = work.resolve("tree");
    BusyboxRootfs.create(tree);
    baseImage = work.resolve("base.ext4");
    CommandRunner.run(List.of("mkfs.ext4", "-q", "-F", "-d", tree.toString(), baseImage.toString(), "64M"), Duration.ofSeconds(60));
    Files.setAttribute(baseImage, "unix:mode", 0444);
  }

  @AfterAll
  static void cleanUp() throws Exception {
    AtomicFiles.deleteTree(work);
  }

  @AfterEach
  void stopVms() throws Exception {
    for (RunningVm vm : started) vm.stop(Duration.ofSeconds(3));
  }

  @ParameterizedTest
  @EnumSource(Machine.class)
  void runsPausesGrowsFreezesSavesAndRestores(Machine machine) throws Exception {
    VmSpec spec = spec(machine, "vm-" + machine.wire(), Optional.empty())
        .withMemory(new GuestMemory(work.resolve(machine.wire() + ".mem"), GuestMemory.Mode.SHARED));
    long t0 = System.nanoTime();
    RunningVm vm = start(spec);
    assertEquals("ok", run(vm, "echo ok"));
    long bootMs = (System.nanoTime() - t0) / 1_000_000;
    String devices = run(vm, "ls /sys/bus/pci/devices | wc -l");
    if (machine == Machine.Q35) assertNotEquals("0", devices, "q35 puts its virtio devices on PCI");
    else assertEquals("0", devices, "microvm has no PCI bus");

    vm.pause();
    assertEquals("paused", ((QemuVm) vm).qmp().execute("query-status", null, Duration.ofSeconds(5)).path("status").asText());
    vm.resume();
    assertEquals("running", ((QemuVm) vm).qmp().execute("query-status", null, Duration.ofSeconds(5)).path("status").asText());

    long grown = 96 * MIB;
    vm.growRootDisk(grown);
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> run(vm, "cat /sys/block/vda/size").equals(Long.toString(grown / 512)));

    DiskLayers layers = new DiskLayers(work.resolve("layers-" + machine.wire()));
    Path next = vm.freezeDisk(layers);
    layers.recorded(next);
    assertEquals(next, vm.spec().rootDisk(), "the VM's spec names the layer it writes to");
    byte[] frozen = Files.readAllBytes(spec.rootDisk());
    vm.resume();
    run(vm, "echo after-freeze > /root/mark && sync");
    assertTrue(java.util.Arrays.equals(frozen, Files.readAllBytes(spec.rootDisk())), "the frozen layer took no write");

    Path state = work.resolve(machine.wire() + ".state");
    long s0 = System.nanoTime();
    vm.saveState(state, STATE_TIMEOUT);
    long saveMs = (System.nanoTime() - s0) / 1_000_000;
    vm.stop(Duration.ofSeconds(3));

    VmSpec clone = spec.renamed("vm-" + machine.wire() + "-r", work.resolve(machine.wire() + "-r")).withRootDisk(next)
        .withMemory(new GuestMemory(spec.memory().orElseThrow().file(), GuestMemory.Mode.CLONE));
    long r0 = System.nanoTime();
    RunningVm restored = track(BACKEND.restore(clone, state, STATE_TIMEOUT));
    assertEquals("after-freeze", run(restored, "cat /root/mark"));
    long restoreMs = (System.nanoTime() - r0) / 1_000_000;

    // A clone maps the snapshot's RAM private, so its own save (a pause, a fork) carries all of its RAM in the stream.
    Path full = work.resolve(machine.wire() + "-full.state");
    long f0 = System.nanoTime();
    restored.saveState(full, STATE_TIMEOUT);
    long fullSaveMs = (System.nanoTime() - f0) / 1_000_000;
    restored.stop(Duration.ofSeconds(3));
    long f1 = System.nanoTime();
    RunningVm again = track(BACKEND.restore(clone.renamed("vm-" + machine.wire() + "-f", work.resolve(machine.wire() + "-f")), full, STATE_TIMEOUT));
    assertEquals("after-freeze", run(again, "cat /root/mark"));
    long fullRestoreMs = (System.nanoTime() - f1) / 1_000_000;
    log.info("machine={} accel={} boot_to_agent_ms={} save_ms={} restore_to_agent_ms={} full_save_ms={} full_state_mib={} full_restore_to_agent_ms={}",
        machine.wire(), ACCEL, bootMs, saveMs, restoreMs, fullSaveMs, Files.size(full) / MIB, fullRestoreMs);

    if (machine == Machine.MICROVM) {
      VmmException e = assertThrows(VmmException.class, () -> again.setVcpus(2));
      assertEquals("microvm machines cannot hot-plug CPUs or memory", e.getMessage());
      assertThrows(VmmException.class, () -> again.setMemoryMib(512));
    }
  }

  @Test
  void q35HotplugsCpusAndMemoryThatTheGuestSeesAndARestoreKeeps() throws Exception {
    VmSpec spec = spec(Machine.Q35, "vm-hotplug", Optional.of(Hotplug.upTo(3, 1024)))
        .withMemory(new GuestMemory(work.resolve("hotplug.mem"), GuestMemory.Mode.SHARED));
    RunningVm vm = start(spec);
    assertEquals("1", run(vm, "nproc"));
    long before = memTotalKib(vm);

    vm.setVcpus(2);
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> run(vm, "nproc").equals("2"));
    vm.setMemoryMib(512 + 256);
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> memTotalKib(vm) - before == 256 * 1024);
    assertEquals(2, vm.spec().vcpus());
    assertEquals(List.of(256L), vm.spec().hotplug().orElseThrow().dimmsMib());

    VmmException shrink = assertThrows(VmmException.class, () -> vm.setVcpus(1));
    assertTrue(shrink.getMessage().contains("only hot-added"), shrink.getMessage());
    VmmException beyond = assertThrows(VmmException.class, () -> vm.setMemoryMib(2048));
    assertTrue(beyond.getMessage().contains("room for 1024 MiB"), beyond.getMessage());
    VmmException odd = assertThrows(VmmException.class, () -> vm.setMemoryMib(800));
    assertTrue(odd.getMessage().contains("steps of 128 MiB"), odd.getMessage());

    Path state = work.resolve("hotplug.state");
    vm.saveState(state, STATE_TIMEOUT);
    VmSpec grown = vm.spec();
    vm.stop(Duration.ofSeconds(3));
    VmSpec clone = grown.renamed("vm-hotplug-r", work.resolve("hotplug-r"))
        .withMemory(new GuestMemory(grown.memory().orElseThrow().file(), GuestMemory.Mode.CLONE));
    RunningVm restored = track(BACKEND.restore(clone, state, STATE_TIMEOUT));
    assertEquals("2", run(restored, "nproc"));
    assertEquals(before + 256 * 1024, memTotalKib(restored));
    // The restored VM can grow on: its room and its DIMM slots came along.
    restored.setVcpus(3);
    Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> run(restored, "nproc").equals("3"));
  }

  /**
   * A live migration as the daemon does it between hosts, here between two run directories: the
   * target loads the stream with its disk not yet taken, the source's top layer is written into the
   * target's file after the stream, and the guest goes on with what it wrote before.
   */
  @Test
  void liveMigrationMovesARunningVmWithItsLastDiskWrites() throws Exception {
    VmSpec spec = spec(Machine.MICROVM, "vm-live-a", Optional.empty()).withMemory(new GuestMemory(work.resolve("live.mem"), GuestMemory.Mode.SHARED));
    RunningVm source = start(spec);
    run(source, "echo before-move > /root/mark && sync");
    Path targetDir = work.resolve("vm-live-b");
    Path targetDisk = disks().resolve("vm-live-b.qcow2");
    Overlay.create(targetDisk, baseImage, Overlay.BaseFormat.RAW);
    VmSpec target = spec.renamed("vm-live-b", targetDir).withRootDisk(targetDisk).withMemory(GuestMemory.streamed());
    RunningVm[] received = new RunningVm[1];
    MigrationStats stats = source.migrateOut(new MigrationSettings(Duration.ofMillis(300), 1L << 30, STATE_TIMEOUT),
        stream -> {
          try {
            received[0] = track(BACKEND.receive(target, stream, STATE_TIMEOUT));
          } catch (VmmException e) {
            throw new java.io.IOException(e.getMessage(), e);
          }
        });
    assertEquals("postmigrate", ((QemuVm) source).qmp().execute("query-status", null, Duration.ofSeconds(5)).path("status").asText());
    // The top layer's last state, written into the very file the target QEMU holds, before it takes its disks.
    try (var in = java.nio.channels.FileChannel.open(spec.rootDisk());
         var out = java.nio.channels.FileChannel.open(targetDisk, java.nio.file.StandardOpenOption.WRITE, java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
      out.transferFrom(in, 0, in.size());
      out.force(true);
    }
    received[0].resume();
    assertEquals("before-move", run(received[0], "cat /root/mark"));
    run(received[0], "echo after-move >> /root/mark && sync");
    assertTrue(stats.bytesSent() > 0 && stats.ramBytes() >= 512 * MIB, stats.toString());
    log.info("live migration total_ms={} downtime_ms={} sent_mib={} passes={}", stats.totalMillis(), stats.downtimeMillis(), stats.bytesSent() / MIB, stats.passes());
  }

  private VmSpec spec(Machine machine, String name, Optional<Hotplug> room) throws Exception {
    // Disks beside the run directories, not in them: each run directory is its VM's uid's alone,
    // and a restore by another VM (another uid) reads the disk the first one wrote.
    Path dir = work.resolve(name);
    Path overlay = disks().resolve(name + ".qcow2");
    Overlay.create(overlay, baseImage, Overlay.BaseFormat.RAW);
    return new VmSpec(name, dir, artifacts.kernel(), artifacts.initrd(), cmdline, overlay, 1, 512, ACCEL).onMachine(machine, room);
  }

  private Path disks() throws java.io.IOException {
    return Files.createDirectories(work.resolve("disks"));
  }

  private RunningVm start(VmSpec spec) throws Exception {
    return track(BACKEND.start(spec));
  }

  private RunningVm track(RunningVm vm) {
    started.add(vm);
    return vm;
  }

  private static long memTotalKib(RunningVm vm) throws Exception {
    return Long.parseLong(run(vm, "awk '/^MemTotal:/ {print $2}' /proc/meminfo"));
  }

  /** Runs a shell command in the guest over a fresh agent connection; its trimmed stdout, failing on a non-zero exit. */
  private static String run(RunningVm vm, String command) throws Exception {
    try (AgentConnection agent = AgentConnection.open(vm.spec().agentSocket(), vm.spec().name(), AGENT_WAIT, null);
         ExecHandle h = agent.exec(ExecRequest.shell(command))) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      while (true) {
        ExecEvent ev = h.next(Duration.ofSeconds(60));
        if (ev == null) throw new AssertionError("'" + command + "' gave no output and did not exit within 60 s in " + vm.spec().name());
        if (ev instanceof ExecEvent.Output o && !o.stderr()) out.write(o.data());
        if (ev instanceof ExecEvent.Exited x) {
          assertEquals(0, x.status().exitCode(), "'" + command + "' failed in " + vm.spec().name());
          return out.toString(StandardCharsets.UTF_8).strip();
        }
      }
    }
  }
}
