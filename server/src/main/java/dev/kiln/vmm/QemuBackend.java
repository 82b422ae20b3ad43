package dev.kiln.vmm;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each VM as a {@code qemu-system-x86_64} process ({@code -machine microvm} or {@code q35}) in a session of its own
 * (setsid), so it outlives the daemon, and, when {@link VmmIdentities} are configured, as a uid
 * of its own from its first instruction (setpriv), under QEMU's seccomp sandbox. It owns only its
 * run directory and its top disk layer; the layers below are opened here and handed to it as
 * descriptors (docs/adr/0020).
 */
public final class QemuBackend implements VmmBackend {
  private static final Logger log = LoggerFactory.getLogger(QemuBackend.class);
  /** QEMU sets up devices and sockets in well under a second; 30 s covers a host buried in load. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  /** Snapshot memory as clones map it: sealed copies this daemon holds (see SealedMemory). */
  private final SealedMemory sealedMemory = new SealedMemory();
  private final String qemuBinary;
  private final Optional<VmmIdentities> identities;
  private final Optional<VmCgroups> cgroups;
  private final OptionalLong tscKhz;
  private final QemuImages images = new QemuImages(this);
  /** The machines the QEMU binary offers: asked once, it does not change while the daemon runs. */
  private volatile List<Machine> machines;

  /** @param tscKhz the host's TSC rate, which TCG guests on microvm need (see {@link #kernelCmdline}); empty if unknown */
  public QemuBackend(String qemuBinary, Optional<VmmIdentities> identities, Optional<VmCgroups> cgroups, OptionalLong tscKhz) {
    this.qemuBinary = qemuBinary;
    this.identities = identities;
    this.cgroups = cgroups;
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
    images.adopt(dir);
  }

  /** The sealed copy of a snapshot's memory file that its clones map (made on first use). */
  SealedMemory.Sealed sealedMemory(Path memoryFile) throws IOException {
    return sealedMemory.of(memoryFile);
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
    Optional<VmmIdentity> identity = identities.isEmpty() ? Optional.empty() : Optional.of(identities.get().claim(spec.runDir()));
    List<Path> below;
    boolean topQcow2;
    Optional<SealedMemory.Sealed> clone = Optional.empty();
    try {
      Files.createDirectories(spec.runDir());
      Files.deleteIfExists(spec.pidFile());
      below = DiskParents.below(spec.rootDisk());
      topQcow2 = DiskLayers.isQcow2(spec.rootDisk());
      if (identity.isPresent()) {
        giveTo(spec.rootDisk(), identity.get());
        if (spec.memory().isPresent() && spec.memory().get().mode() == GuestMemory.Mode.SHARED) {
          // QEMU writes the guest's RAM into this file; in CLONE mode it only maps it private (see QemuImages).
          Path mem = spec.memory().get().file();
          if (!Files.exists(mem)) Files.createFile(mem);
          giveTo(mem, identity.get());
        }
      }
      if (spec.memory().isPresent() && spec.memory().get().mode() == GuestMemory.Mode.CLONE) {
        // Not the file (root's alone): its sealed copy, opened by the root bash before it becomes QEMU.
        clone = Optional.of(sealedMemory.of(spec.memory().get().file()));
      }
    } catch (IOException e) {
      throw new VmmException("cannot prepare run directory " + spec.runDir() + " and disk " + spec.rootDisk() + ": " + e.getMessage(), e);
    }
    try {
      // Made new by the daemon before QEMU runs: the sticky run directory keeps QEMU from swapping it for a link.
      Files.deleteIfExists(spec.vmmLog());
      Files.createFile(spec.vmmLog());
    } catch (IOException e) {
      throw new VmmException("cannot make " + spec.vmmLog() + ": " + e.getMessage(), e);
    }
    Object cgroupOwner = new Object();
    List<Path> procs;
    try {
      procs = cgroups.isEmpty() ? List.of() : cgroups.get().prepare(spec.name(), VmLimits.of(spec), cgroupOwner);
    } catch (IOException e) {
      throw new VmmException("cannot set the limits of " + spec.name() + " (its control group): " + e.getMessage(), e);
    }
    List<String> argv = new ArrayList<>(List.of("setsid"));
    List<QemuCommandLine.Backing> backings = new ArrayList<>();
    for (int i = 0; i < below.size(); i++) backings.add(new QemuCommandLine.Backing(FIRST_FD + i, isQcow2(below.get(i))));
    OptionalInt memoryFd = clone.isPresent() ? OptionalInt.of(FIRST_FD + below.size()) : OptionalInt.empty();
    if (!below.isEmpty() || !procs.isEmpty() || clone.isPresent()) argv.addAll(opener(below, clone.map(SealedMemory::fromOutside), procs));
    // The namespace first (it needs root), then the unprivileged user: QEMU opens the tap, which its
    // shared group may, inside it.
    spec.nic().ifPresent(n -> argv.addAll(List.of("nsenter", "--net=/run/netns/" + n.netns())));
    identity.ifPresent(id -> argv.addAll(id.setprivArgs()));
    argv.addAll(QemuCommandLine.build(qemuBinary, spec, incoming, topQcow2, backings, memoryFd));
    log.info("starting vm={} machine={} accel={} vcpus={} memory_mib={} uid={} chain_depth={}", spec.name(), spec.machine().wire(), spec.accelerator(),
        spec.vcpus(), spec.totalMemoryMib(), identity.map(i -> Integer.toString(i.uid())).orElse("daemon's"), below.size() + 1);
    log.debug("qemu argv={}", argv);
    Process p;
    try {
      p = new ProcessBuilder(argv)
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(spec.vmmLog().toFile()))
          .start();
    } catch (IOException e) {
      throw new VmmException("cannot run " + argv.getFirst() + " for " + spec.name() + ": " + e.getMessage(), e);
    }
    QmpClient qmp;
    try {
      qmp = awaitQmp(spec, p.toHandle());
    } catch (VmmException | InterruptedException | RuntimeException e) {
      // Nothing may run on that no one controls: the uid and the group are given back only once it is gone.
      p.toHandle().destroyForcibly();
      cgroups.ifPresent(c -> p.toHandle().onExit().thenRun(() -> c.release(spec.name(), cgroupOwner)));
      throw e;
    }
    return new QemuVm(spec, p.toHandle(), qmp, identity, cgroups, cgroupOwner, console(spec));
  }

  /** The VM's console, copied into its bounded log; a VM whose console cannot be read runs on without (and the log says so). */
  private static Optional<ConsoleLog> console(VmSpec spec) {
    if (!Files.exists(spec.consoleSocket())) return Optional.empty(); // a QEMU an older daemon started writes its console to a file itself
    try {
      return Optional.of(ConsoleLog.follow(spec.consoleSocket(), spec.consoleLog(), spec.name()));
    } catch (VmmException e) {
      log.warn("vm={} runs without its console log: {}", spec.name(), e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * The start of QEMU's argv, run as root by bash, which then becomes QEMU: it opens the chain
   * below the top layer read-only as descriptors 3, 4, … (Java starts a child with nothing open
   * beyond stdio), then a clone's sealed snapshot memory read-write as the next one (its seals,
   * not its mode, keep it unwritten), and joins the VM's control groups, so the limits hold before
   * QEMU exists.
   */
  static List<String> opener(List<Path> chain, Optional<String> sealedMemory, List<Path> procs) {
    StringBuilder script = new StringBuilder();
    int arg = 1;
    if (!chain.isEmpty() || sealedMemory.isPresent()) {
      script.append("exec");
      for (int i = 0; i < chain.size(); i++) script.append(' ').append(FIRST_FD + i).append("<\"${").append(arg++).append("}\"");
      if (sealedMemory.isPresent()) script.append(' ').append(FIRST_FD + chain.size()).append("<>\"${").append(arg++).append("}\"");
      script.append(" || exit 1; ");
    }
    for (int i = 0; i < procs.size(); i++) script.append("echo $$ > \"${").append(arg++).append("}\" || exit 1; ");
    script.append("shift ").append(arg - 1).append("; exec \"$@\"");
    List<String> argv = new ArrayList<>(List.of("bash", "-c", script.toString(), "kiln-vm-open"));
    chain.forEach(p -> argv.add(p.toString()));
    sealedMemory.ifPresent(argv::add);
    procs.forEach(p -> argv.add(p.toString()));
    return argv;
  }

  /** The first descriptor a chain file is handed to QEMU as (0-2 are stdio). */
  private static final int FIRST_FD = 3;

  private static boolean isQcow2(Path file) {
    try {
      return DiskLayers.isQcow2(file);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The VM's own file: its uid's, no one else's. */
  static void giveTo(Path file, VmmIdentity id) throws IOException {
    Files.setAttribute(file, "unix:uid", id.uid());
    Files.setAttribute(file, "unix:gid", id.gid());
    Files.setAttribute(file, "unix:mode", 0600);
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
          if (!(e.getCause() instanceof java.net.ConnectException)) throw new VmmException(e.getMessage() + vmmLogTail(spec), e);
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
    Optional<VmmIdentity> identity = identities.isEmpty() ? Optional.empty() : Optional.of(identities.get().claim(spec.runDir()));
    Object cgroupOwner = new Object();
    cgroups.ifPresent(c -> c.adopt(spec.name(), cgroupOwner));
    return new QemuVm(disksAsQemuHasThem(spec, qmp), handle, qmp, identity, cgroups, cgroupOwner, console(spec));
  }

  /**
   * The spec with the root disk QEMU writes to. They differ only when a daemon stopped between a
   * disk freeze and its record ({@link RunningVm#freezeDisk}): QEMU writes to the new layer while
   * the record names the frozen one. QEMU's word (the block node it writes to) is taken only for a
   * file the daemon made: a layer beside the recorded one whose parent record is the recorded one
   * (a compromised QEMU must not be able to point the daemon at another file). Anything else is refused.
   */
  private static VmSpec disksAsQemuHasThem(VmSpec spec, QmpClient qmp) throws VmmException, InterruptedException {
    com.fasterxml.jackson.databind.JsonNode devices = qmp.execute("query-block", null, Duration.ofSeconds(10));
    String node = null;
    for (com.fasterxml.jackson.databind.JsonNode d : devices) {
      if (d.path("device").asText().equals("root")) {
        // A QEMU a daemon before explicit chains started (-drive id=root): its file is the recorded one or not ours.
        String file = d.path("inserted").path("file").asText("");
        if (Path.of(file).toAbsolutePath().normalize().equals(spec.rootDisk().toAbsolutePath().normalize())) return spec;
        throw new VmmException("QEMU of " + spec.name() + " (started before explicit disk chains) writes to a disk other than its recorded one");
      }
      if (d.has("inserted")) node = d.path("inserted").path("node-name").asText(null);
    }
    if (node == null || node.length() > 64) throw new VmmException("QEMU of " + spec.name() + " names no root disk");
    Path recorded = spec.rootDisk().toAbsolutePath().normalize();
    if (node.equals(QemuCommandLine.nodeName(recorded))) return spec;
    // The only other node it may be on: a layer the daemon made on the recorded one (its record says so).
    Path actual = null;
    try (var siblings = Files.newDirectoryStream(recorded.getParent(), "*.qcow2")) {
      for (Path f : siblings) {
        Path abs = f.toAbsolutePath().normalize();
        if (QemuCommandLine.nodeName(abs).equals(node) && Files.isRegularFile(abs, java.nio.file.LinkOption.NOFOLLOW_LINKS)
            && DiskParents.of(abs).map(b -> b.toAbsolutePath().normalize().equals(recorded)).orElse(false)) {
          actual = abs;
        }
      }
    } catch (IOException e) {
      throw new VmmException("QEMU of " + spec.name() + " writes to node " + node + ", which cannot be checked: " + e.getMessage(), e);
    }
    if (actual == null) throw new VmmException("QEMU of " + spec.name() + " writes to node " + node + ", which is not a layer on its recorded disk " + recorded);
    log.warn("vm={} writes to {} though its record names {} (the daemon stopped between a disk freeze and its record): taking the new layer",
        spec.name(), actual, recorded);
    return spec.withRootDisk(actual);
  }

  /**
   * Kills a QEMU a previous daemon left running in {@code runDir}, found by its command line (which
   * names the directory's QMP socket), not by its pid file: that is QEMU's to write, and a read
   * of what it put there could hang on a FIFO.
   */
  @Override
  public boolean killLeftover(Path runDir) {
    Path qmp = runDir.resolve("qmp.sock");
    List<ProcessHandle> found = ProcessHandle.allProcesses().filter(h -> isQemuOf(h.pid(), qmp)).toList();
    found.forEach(h -> {
      h.destroyForcibly();
      log.warn("killed qemu pid={} that a previous daemon left running in {}", h.pid(), runDir);
    });
    return !found.isEmpty();
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
    String s = new String(dev.kiln.host.UntrustedFiles.tail(spec.vmmLog(), 2000), java.nio.charset.StandardCharsets.UTF_8).strip();
    return s.isEmpty() ? "" : "; QEMU said: " + s;
  }

  /**
   * A backend as the installer sets a host up (per-VM uids from the default range with the kiln-vmm
   * group, when run as root and the group exists; the host's TSC rate under TCG): for the
   * benchmark's floors and tests.
   */
  public static QemuBackend forThisHost(Accelerator accel) {
    return forThisHost(accel, Optional.empty());
  }

  /** The same, with each VM in a control group of its own with its limits. */
  public static QemuBackend forThisHost(Accelerator accel, Optional<VmCgroups> cgroups) {
    OptionalInt group = groupIfPresent(VmmIdentities.DEFAULT_GROUP);
    Optional<VmmIdentities> ids = group.isPresent() && "root".equals(System.getProperty("user.name"))
        ? Optional.of(VmmIdentities.parse(VmmIdentities.DEFAULT_RANGE, group)) : Optional.empty();
    return new QemuBackend("qemu-system-x86_64", ids, cgroups, accel == Accelerator.TCG ? dev.kiln.host.HostFacts.tscKhz() : OptionalLong.empty());
  }

  /** The gid of a group if the host has it (the installer creates kiln-vmm), else empty. */
  public static OptionalInt groupIfPresent(String name) {
    var r = CommandRunner.runAllowingFailure(List.of("getent", "group", name), Duration.ofSeconds(5));
    String[] f = r.stdout().strip().split(":");
    return r.exitCode() == 0 && f.length >= 3 && f[2].matches("\\d{1,10}") ? OptionalInt.of(Integer.parseInt(f[2])) : OptionalInt.empty();
  }
}
