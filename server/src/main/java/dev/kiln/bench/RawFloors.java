package dev.kiln.bench;

import dev.kiln.agent.AgentConnection;
import dev.kiln.agent.ExecEvent;
import dev.kiln.agent.ExecHandle;
import dev.kiln.agent.ExecRequest;
import dev.kiln.agent.GuestFileInput;
import dev.kiln.host.AtomicFiles;
import dev.kiln.image.GuestArtifacts;
import dev.kiln.sandbox.Checkpoints;
import dev.kiln.vmm.Accelerator;
import dev.kiln.vmm.GuestMemory;
import dev.kiln.vmm.Overlay;
import dev.kiln.vmm.QemuBackend;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmSpec;
import java.io.ByteArrayInputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The floors Kiln's paths are built on, measured with no daemon in the way: QEMU started or
 * restored by the backend alone, and the agent spoken to over its raw channel.
 */
final class RawFloors {
  private final Path work;
  private final GuestArtifacts artifacts;
  private final int fileMib;
  private Accelerator accel;
  private QemuBackend backend;
  private QemuBackend limitedBackend;

  RawFloors(Path work, GuestArtifacts artifacts, int fileMib) {
    this.work = work;
    this.artifacts = artifacts;
    this.fileMib = fileMib;
  }

  /** The samples of one booted VM: boot to agent, exec round trips, first output, a file each way. */
  record BootSamples(Stats boot, Stats exec, Stats firstOutput, Stats up, Stats down) {}

  /** One VM booted on an overlay of {@code rootfs}: the floor for boot, exec and file transfer. */
  void boot(Path rootfs, int i, BootSamples into) throws Exception {
    Path dir = work.resolve("raw-" + i);
    Files.createDirectories(dir);
    Path overlay = dir.resolve("rootfs.qcow2");
    Overlay.create(overlay, rootfs, Overlay.BaseFormat.RAW);
    VmSpec spec = spec("bench-raw-" + i, dir, overlay);
    long t0 = System.nanoTime();
    RunningVm vm = backend().start(spec);
    try (AgentConnection agent = AgentConnection.open(spec.agentSocket(), spec.name(), Duration.ofSeconds(120), null)) {
      into.boot().add(Bench.ms(t0));
      for (int k = 0; k < 6; k++) {
        long e0 = System.nanoTime();
        runTrue(agent);
        into.exec().add(Bench.ms(e0));
      }
      for (int k = 0; k < 6; k++) {
        long e0 = System.nanoTime();
        try (ExecHandle h = agent.exec(ExecRequest.of("echo", "x"))) {
          while (!(h.next(Duration.ofSeconds(30)) instanceof ExecEvent.Output)) {
            // STARTED comes first
          }
          into.firstOutput().add(Bench.ms(e0));
          h.awaitExit(Duration.ofSeconds(30));
        }
      }
      byte[] data = Bench.randomBytes(fileMib * Bench.MIB);
      long u0 = System.nanoTime();
      agent.files().write("/tmp/blob", 0644, false, new ByteArrayInputStream(data));
      into.up().add(fileMib / Bench.secs(u0));
      long d0 = System.nanoTime();
      try (GuestFileInput in = agent.files().read("/tmp/blob")) {
        in.transferTo(OutputStream.nullOutputStream());
      }
      into.down().add(fileMib / Bench.secs(d0));
    } finally {
      vm.stop(Duration.ofSeconds(3));
      AtomicFiles.deleteTree(dir);
    }
  }

  /**
   * A clone of a template snapshot restored to its first command answered; then, as a sandbox
   * with a file in its RAM, saved and loaded by QMP alone (the floors of pause and resume).
   */
  void restoreSaveLoad(Path snapshot, int i, Stats restore, Stats save, Stats load) throws Exception {
    VmSpec spec = clone(snapshot, "restore-" + i);
    Path dir = spec.runDir();
    long t0 = System.nanoTime();
    RunningVm vm = backend().restore(spec, snapshot.resolve("state"), Duration.ofSeconds(60));
    try {
      try (AgentConnection agent = AgentConnection.open(spec.agentSocket(), spec.name(), Duration.ofSeconds(60), null)) {
        runTrue(agent); // what the API path measures too: the first command answered
        restore.add(Bench.ms(t0));
        agent.files().write("/tmp/blob", 0644, false, new ByteArrayInputStream(Bench.randomBytes(fileMib * Bench.MIB)));
      }
      Path state = dir.resolve("state");
      long s0 = System.nanoTime();
      vm.saveState(state, Duration.ofMinutes(2));
      save.add(Bench.ms(s0));
      vm.stop(Duration.ofSeconds(3));
      long l0 = System.nanoTime();
      vm = backend().restore(spec, state, Duration.ofMinutes(2));
      helloAndRunTrue(spec);
      load.add(Bench.ms(l0));
    } finally {
      vm.stop(Duration.ofSeconds(3));
      AtomicFiles.deleteTree(dir);
    }
  }

  /** A clone restored to its first command answered and left running: the unit of the parallel floors. */
  RunningVm restoreRunning(Path snapshot, String name) throws Exception {
    VmSpec spec = clone(snapshot, name);
    RunningVm vm = backend().restore(spec, snapshot.resolve("state"), Duration.ofMinutes(2));
    helloAndRunTrue(spec);
    return vm;
  }

  /** The restore again, with the QEMU put in a control group with its limits first: what the limits cost a start. */
  void limitedRestore(Path snapshot, int i, Stats stats) throws Exception {
    VmSpec spec = clone(snapshot, "limited-" + i);
    long t0 = System.nanoTime();
    RunningVm vm = limitedBackend().restore(spec, snapshot.resolve("state"), Duration.ofSeconds(60));
    try {
      helloAndRunTrue(spec);
      stats.add(Bench.ms(t0));
    } finally {
      stop(vm);
    }
  }

  /** The floor of a pool claim: a clone restored and left paused beforehand, then let run and handshaken. */
  void claim(Path snapshot, int i, Stats stats) throws Exception {
    VmSpec spec = clone(snapshot, "claim-" + i);
    RunningVm vm = backend().restorePaused(spec, snapshot.resolve("state"), Duration.ofSeconds(60));
    try {
      // Warmed as the pool warms its VMs: run once (HELLO and a command), then paused again.
      vm.resume();
      helloAndRunTrue(spec);
      vm.pause();
      long t0 = System.nanoTime();
      vm.resume();
      helloAndRunTrue(spec);
      stats.add(Bench.ms(t0));
    } finally {
      stop(vm);
    }
  }

  /**
   * One raw fork: an overlay on the checkpoint's disk, its state restored, a command answered; left
   * running. {@code limited}: its QEMU in a control group with a VM's limits first, as Kiln's are.
   */
  RunningVm restoreCheckpoint(Checkpoints.Saved saved, String name, boolean limited) throws Exception {
    Path dir = work.resolve(name);
    Files.createDirectories(dir);
    Path overlay = dir.resolve("rootfs.qcow2");
    Overlay.create(overlay, saved.spec().rootDisk(), Overlay.BaseFormat.QCOW2);
    VmSpec spec = saved.spec().renamed("bench-" + name, dir).withRootDisk(overlay);
    RunningVm vm = (limited ? limitedBackend() : backend()).restore(spec, saved.state(), Duration.ofSeconds(120));
    helloAndRunTrue(spec);
    return vm;
  }

  static void stop(RunningVm vm) throws Exception {
    vm.stop(Duration.ofSeconds(3));
    AtomicFiles.deleteTree(vm.spec().runDir());
  }

  /** A clone of the snapshot as Kiln makes one (overlay on its disk, its RAM mapped private), in work/{@code name}. */
  private VmSpec clone(Path snapshot, String name) throws Exception {
    Path dir = work.resolve(name);
    Files.createDirectories(dir);
    Path overlay = dir.resolve("rootfs.qcow2");
    Overlay.create(overlay, snapshot.resolve("disk.qcow2"), Overlay.BaseFormat.QCOW2);
    return spec("bench-" + name, dir, overlay).withMemory(new GuestMemory(snapshot.resolve("memory"), GuestMemory.Mode.CLONE));
  }

  private VmSpec spec(String name, Path dir, Path overlay) {
    String cmdline = backend().kernelCmdline(accel, artifacts.cmdline());
    return new VmSpec(name, dir, artifacts.kernel(), artifacts.initrd(), cmdline, overlay, 1, 512, accel);
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

  /**
   * The backend, made once: making one looks up the VMM user and reads the host's TSC rate from
   * dmesg, which must not land inside a timed start or restore.
   */
  QemuBackend backend() {
    if (backend == null) {
      accel = Accelerator.resolve(Accelerator.Choice.AUTO, Path.of("/sys/module"), Path.of("/dev/kvm"));
      backend = QemuBackend.forThisHost(accel);
    }
    return backend;
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
}
