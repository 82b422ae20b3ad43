package dev.kiln.vmm;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each VM as a {@code qemu-system-x86_64} process ({@code -machine microvm} or {@code q35}) in a session of its own
 * (setsid), so it outlives the daemon, and, when a {@link VmmUser} is configured, as that
 * unprivileged user from its first instruction (setpriv), under QEMU's seccomp sandbox.
 */
public final class QemuBackend implements VmmBackend {
  private static final Logger log = LoggerFactory.getLogger(QemuBackend.class);
  /** QEMU sets up devices and sockets in well under a second; 30 s covers a host buried in load. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final String qemuBinary;
  private final Optional<VmmUser> user;
  private final OptionalLong tscKhz;
  private final QemuImages images = new QemuImages(this);
  /** The machines the QEMU binary offers: asked once, it does not change while the daemon runs. */
  private volatile List<Machine> machines;

  /** @param tscKhz the host's TSC rate, which TCG guests on microvm need (see {@link #kernelCmdline}); empty if unknown */
  public QemuBackend(String qemuBinary, Optional<VmmUser> user, OptionalLong tscKhz) {
    this.qemuBinary = qemuBinary;
    this.user = user;
    this.tscKhz = tscKhz;
  }

  /**
   * Under TCG on the microvm machine the kernel cannot calibrate the TSC (no HPET, PM timer or PIT
   * port 0x61) and hangs about 4 boots in 5 unless given the rate; tsc=reliable keeps a loaded host
   * from marking the clocksource unstable. The root disk is the first virtio disk on both machines.
   */
  @Override
  public String kernelCmdline(Accelerator accel, String guestParameters) {
    StringBuilder b = new StringBuilder("console=ttyS0 quiet panic=-1 kiln.root=/dev/vda");
    if (accel == Accelerator.TCG && tscKhz.isPresent()) b.append(" tsc_early_khz=").append(tscKhz.getAsLong()).append(" tsc=reliable");
    if (!guestParameters.isBlank()) b.append(' ').append(guestParameters.strip());
    return b.toString();
  }

  @Override
  public RunningVm startImageVm(VmSpec spec, DiskBase base, Path dir) throws VmmException, InterruptedException {
    return images.start(spec, base, dir);
  }

  @Override
  public VmImage saveImage(RunningVm vm, Path dir, Duration timeout) throws VmmException, IOException, InterruptedException {
    return images.save(vm, dir, timeout);
  }

  @Override
  public void adoptImage(Path dir) throws IOException {
    Optional<UserPrincipal> owner = user.isEmpty() ? Optional.empty()
        : Optional.of(dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user.get().name()));
    images.adopt(dir, owner);
  }

  @Override
  public DiskBase cloneBase(VmImage image) {
    return images.cloneBase(image);
  }

  @Override
  public RunningVm restoreClone(VmImage image, VmSpec spec, boolean paused, Duration timeout) throws VmmException, IOException, InterruptedException {
    return images.restore(image, spec, paused, timeout);
  }

  @Override
  public RunningVm start(VmSpec spec) throws VmmException, InterruptedException {
    return launch(spec, false);
  }

  @Override
  public RunningVm restore(VmSpec spec, Path state, Duration timeout) throws VmmException, InterruptedException {
    return load(spec, state, timeout, true);
  }

  @Override
  public RunningVm restorePaused(VmSpec spec, Path state, Duration timeout) throws VmmException, InterruptedException {
    return load(spec, state, timeout, false);
  }

  @Override
  public RunningVm receive(VmSpec spec, java.io.InputStream stream, Duration timeout) throws VmmException, InterruptedException {
    QemuVm vm = launch(spec, true);
    try {
      long bytes = QemuMigration.receive(spec, vm.qmp(), stream, true, timeout);
      log.info("vm={} received live bytes={}", spec.name(), bytes);
      return vm;
    } catch (VmmException | RuntimeException e) {
      vm.stop(Duration.ofSeconds(2));
      throw new VmmException(e.getMessage() + vmmLogTail(spec), e);
    }
  }

  private RunningVm load(VmSpec spec, Path state, Duration timeout, boolean run) throws VmmException, InterruptedException {
    QemuVm vm = launch(spec, true);
    try {
      QemuMigration.restore(spec, vm.qmp(), state, timeout);
      if (run) vm.resume();
      return vm;
    } catch (VmmException | RuntimeException e) {
      vm.stop(Duration.ofSeconds(2));
      throw new VmmException(e.getMessage() + vmmLogTail(spec), e);
    }
  }

  private QemuVm launch(VmSpec spec, boolean incoming) throws VmmException, InterruptedException {
    List<String> argv = new ArrayList<>(List.of("setsid"));
    // The namespace first (it needs root), then the unprivileged user: QEMU opens the tap, which is
    // that user's, inside it.
    spec.nic().ifPresent(n -> argv.addAll(List.of("nsenter", "--net=/run/netns/" + n.netns())));
    try {
      Files.createDirectories(spec.runDir());
      Files.deleteIfExists(spec.pidFile());
      if (user.isPresent()) {
        UserPrincipal owner = spec.runDir().getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(user.get().name());
        Files.setOwner(spec.runDir(), owner);
        Files.setOwner(spec.rootDisk(), owner);
        if (spec.memory().isPresent() && spec.memory().get().mode() == GuestMemory.Mode.SHARED) {
          // QEMU writes the guest's RAM into this file; in CLONE mode it only reads it.
          Path mem = spec.memory().get().file();
          if (!Files.exists(mem)) Files.createFile(mem);
          Files.setOwner(mem, owner);
        }
        argv.addAll(List.of("setpriv", "--reuid=" + user.get().name(), "--regid=" + user.get().name(), "--clear-groups", "--no-new-privs"));
      }
    } catch (IOException e) {
      throw new VmmException("cannot prepare run directory " + spec.runDir() + ": " + e.getMessage(), e);
    }
    argv.addAll(QemuCommandLine.build(qemuBinary, spec, incoming));
    log.info("starting vm={} machine={} accel={} vcpus={} memory_mib={} user={}", spec.name(), spec.machine().wire(), spec.accelerator(),
        spec.vcpus(), spec.totalMemoryMib(), user.map(VmmUser::name).orElse("root"));
    log.debug("qemu argv={}", argv);
    Process p;
    try {
      p = new ProcessBuilder(argv)
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .redirectErrorStream(true)
          .redirectOutput(spec.vmmLog().toFile())
          .start();
    } catch (IOException e) {
      throw new VmmException("cannot run " + argv.getFirst() + " for " + spec.name() + ": " + e.getMessage(), e);
    }
    QmpClient qmp = awaitQmp(spec, p.toHandle());
    return new QemuVm(spec, p.toHandle(), qmp, user);
  }

  /** Waits for QEMU's QMP socket to answer: the sign that the VM is set up and running. */
  private static QmpClient awaitQmp(VmSpec spec, ProcessHandle process) throws VmmException, InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new VmmException("QEMU for " + spec.name() + " exited during start-up" + vmmLogTail(spec));
      }
      if (Files.exists(spec.qmpSocket())) {
        try {
          return QmpClient.connect(spec.qmpSocket(), spec.name(), Duration.ofSeconds(10), ev -> QemuVm.onEvent(spec, ev));
        } catch (VmmException e) {
          // QEMU binds the socket a moment before it listens: "connection refused" means "not yet".
          if (!(e.getCause() instanceof java.net.ConnectException)) throw e;
        }
      }
      Thread.sleep(5);
    }
    process.destroyForcibly();
    throw new VmmException("QEMU for " + spec.name() + " did not open its QMP socket within " + START_TIMEOUT.toSeconds() + "s" + vmmLogTail(spec));
  }

  @Override
  public RunningVm adopt(VmSpec spec, long pid) throws VmmException, InterruptedException {
    ProcessHandle handle = ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .orElseThrow(() -> new VmmException("QEMU pid " + pid + " of " + spec.name() + " is gone"));
    if (!isQemuOf(pid, spec.qmpSocket())) {
      throw new VmmException("pid " + pid + " is not the QEMU of " + spec.name() + " (its command line does not name " + spec.qmpSocket() + ")");
    }
    QmpClient qmp;
    try {
      qmp = QmpClient.connect(spec.qmpSocket(), spec.name(), Duration.ofSeconds(10), ev -> QemuVm.onEvent(spec, ev));
    } catch (VmmException e) {
      // It is our VM but it no longer answers: nobody could ever control it again, so it must not run on.
      handle.destroyForcibly();
      throw new VmmException(e.getMessage() + "; killed QEMU pid " + pid, e);
    }
    return new QemuVm(disksAsQemuHasThem(spec, qmp), handle, qmp, user);
  }

  /**
   * The spec with the root disk QEMU writes to. They differ only when a daemon stopped between a
   * disk freeze and its record ({@link RunningVm#freezeDisk}): QEMU writes to the new layer while
   * the record names the frozen one. QEMU's word is taken only for a file the daemon made: a layer
   * beside the recorded one whose backing file is the recorded one (a compromised QEMU must not
   * be able to point the daemon at another file). Anything else is refused.
   */
  private static VmSpec disksAsQemuHasThem(VmSpec spec, QmpClient qmp) throws VmmException, InterruptedException {
    com.fasterxml.jackson.databind.JsonNode devices = qmp.execute("query-block", null, Duration.ofSeconds(10));
    String file = null;
    for (com.fasterxml.jackson.databind.JsonNode d : devices) {
      if (d.path("device").asText().equals("root")) file = d.path("inserted").path("file").asText(null);
    }
    if (file == null || file.length() > 4096) throw new VmmException("QEMU of " + spec.name() + " names no root disk");
    Path actual = Path.of(file).toAbsolutePath().normalize();
    Path recorded = spec.rootDisk().toAbsolutePath().normalize();
    if (actual.equals(recorded)) return spec;
    try {
      if (!recorded.getParent().equals(actual.getParent()) || !Files.isRegularFile(actual, java.nio.file.LinkOption.NOFOLLOW_LINKS)
          || !DiskLayers.backingOf(actual).map(b -> b.toAbsolutePath().normalize().equals(recorded)).orElse(false)) {
        throw new VmmException("QEMU of " + spec.name() + " writes to " + actual + ", which is not a layer on its recorded disk " + recorded);
      }
    } catch (IOException e) {
      throw new VmmException("QEMU of " + spec.name() + " writes to " + actual + ", which cannot be checked: " + e.getMessage(), e);
    }
    log.warn("vm={} writes to {} though its record names {} (the daemon stopped between a disk freeze and its record): taking the new layer",
        spec.name(), actual, recorded);
    return spec.withRootDisk(actual);
  }

  @Override
  public boolean killLeftover(Path runDir) {
    Path pidFile = runDir.resolve("qemu.pid");
    try {
      if (!Files.isRegularFile(pidFile)) return false;
      long pid = Long.parseLong(Files.readString(pidFile).strip());
      if (!isQemuOf(pid, runDir.resolve("qmp.sock"))) return false;
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      log.warn("killed qemu pid={} that a previous daemon left running in {}", pid, runDir);
      return true;
    } catch (IOException | NumberFormatException e) {
      log.warn("leftover VM in {} not checked: {}", runDir, e.toString());
      return false;
    }
  }

  /** A recycled pid must not be mistaken for our VM: its argv has to name this VM's QMP socket. */
  private static boolean isQemuOf(long pid, Path qmpSocket) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"))).replace('\0', ' ').contains(qmpSocket.toString());
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public VmmCapabilities capabilities(Accelerator accelerator) {
    List<VmmCapabilities.MachineSupport> offered = new ArrayList<>();
    for (Machine m : machines()) {
      // q35 has ACPI hot-plug of CPUs and DIMMs; microvm has neither ACPI hot-plug nor DIMM slots.
      boolean q35 = m == Machine.Q35;
      offered.add(new VmmCapabilities.MachineSupport(m, q35, q35));
    }
    // Saved states (QemuMigration) and many VMs restored from one (GuestMemory CLONE) work on
    // every machine and either accelerator.
    return new VmmCapabilities(accelerator, offered, true, true);
  }

  private List<Machine> machines() {
    if (machines == null) {
      String listed;
      try {
        listed = CommandRunner.runAllowingFailure(List.of(qemuBinary, "-machine", "help"), Duration.ofSeconds(10)).stdout();
      } catch (dev.kiln.host.CommandException e) {
        listed = ""; // no QEMU: the daemon still starts, and says so here and at every VM start
      }
      List<Machine> found = new ArrayList<>();
      for (Machine m : Machine.values()) {
        // "-machine help" lists one machine a line, its name first; q35 appears as "q35" (an alias of pc-q35-x.y).
        if (listed.lines().anyMatch(l -> l.strip().split("\\s+")[0].equals(m.wire()))) found.add(m);
      }
      if (found.isEmpty()) log.warn("{} -machine help named neither microvm nor q35: no VM can start", qemuBinary);
      machines = List.copyOf(found);
    }
    return machines;
  }

  static String vmmLogTail(VmSpec spec) {
    try {
      if (!Files.exists(spec.vmmLog())) return "";
      String s = Files.readString(spec.vmmLog()).strip();
      return s.isEmpty() ? "" : "; QEMU said: " + (s.length() > 2000 ? s.substring(s.length() - 2000) : s);
    } catch (IOException e) {
      return "";
    }
  }

  /** A backend as the installer sets a host up (the kiln-vmm user if present, the host's TSC rate under TCG): for the benchmark's floors and tests. */
  public static QemuBackend forThisHost(Accelerator accel) {
    return new QemuBackend("qemu-system-x86_64", userIfPresent("kiln-vmm"), accel == Accelerator.TCG ? dev.kiln.host.HostFacts.tscKhz() : OptionalLong.empty());
  }

  /** The VMM user if the host has it (the installer creates kiln-vmm), else empty: QEMU then runs as the daemon's user. */
  public static Optional<VmmUser> userIfPresent(String name) {
    var r = CommandRunner.runAllowingFailure(List.of("id", "-u", name), Duration.ofSeconds(5));
    return r.exitCode() == 0 ? Optional.of(new VmmUser(name)) : Optional.empty();
  }
}
