package dev.kiln.vmm;

import dev.kiln.host.CommandException;
import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Runs each VM as a detached {@code qemu-system-x86_64 -machine microvm} process. */
public final class QemuBackend implements VmmBackend {
  private static final Logger log = LoggerFactory.getLogger(QemuBackend.class);
  /** QEMU's parent process returns once devices and sockets are set up; seconds even when loaded. */
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);

  private final String qemuBinary;
  private final Optional<String> runAs;

  public QemuBackend(String qemuBinary, Optional<String> runAs) {
    this.qemuBinary = qemuBinary;
    this.runAs = runAs;
  }

  @Override
  public RunningVm start(VmSpec spec) throws VmmException, InterruptedException {
    try {
      Files.createDirectories(spec.runDir());
      Files.deleteIfExists(spec.pidFile());
    } catch (IOException e) {
      throw new VmmException("cannot prepare run directory " + spec.runDir() + ": " + e.getMessage(), e);
    }
    List<String> argv = QemuCommandLine.build(qemuBinary, spec, runAs);
    log.info("starting vm={} accel={} vcpus={} memory_mib={}", spec.name(), spec.accelerator(), spec.vcpus(), spec.memoryMib());
    try {
      CommandRunner.run(argv, START_TIMEOUT);
    } catch (CommandException e) {
      throw new VmmException("QEMU for " + spec.name() + " failed to start: " + e.getMessage() + vmmLogTail(spec), e);
    }
    long pid = readPid(spec);
    ProcessHandle handle = ProcessHandle.of(pid)
        .orElseThrow(() -> new VmmException("QEMU for " + spec.name() + " wrote pid " + pid + " but exited at once" + vmmLogTail(spec)));
    return new QemuVm(spec, handle);
  }

  @Override
  public RunningVm adopt(VmSpec spec, long pid) throws VmmException {
    ProcessHandle handle = ProcessHandle.of(pid)
        .filter(ProcessHandle::isAlive)
        .orElseThrow(() -> new VmmException("QEMU pid " + pid + " of " + spec.name() + " is gone"));
    // A recycled pid must not be mistaken for our VM: its argv has to name this VM's QMP socket.
    String cmdline = readCmdline(pid);
    if (!cmdline.contains(spec.qmpSocket().toString())) {
      throw new VmmException("pid " + pid + " is not the QEMU of " + spec.name() + " (its command line does not name " + spec.qmpSocket() + ")");
    }
    return new QemuVm(spec, handle);
  }

  private static String readCmdline(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"))).replace('\0', ' ');
    } catch (IOException e) {
      return "";
    }
  }

  private static long readPid(VmSpec spec) throws VmmException {
    try {
      String s = Files.readString(spec.pidFile()).strip();
      return Long.parseLong(s);
    } catch (IOException | NumberFormatException e) {
      throw new VmmException("QEMU for " + spec.name() + " left no readable pid file " + spec.pidFile() + ": " + e.getMessage(), e);
    }
  }

  static String vmmLogTail(VmSpec spec) {
    try {
      if (!Files.exists(spec.vmmLog())) return "";
      String s = Files.readString(spec.vmmLog());
      return "; qemu.log: " + (s.length() > 2000 ? s.substring(s.length() - 2000) : s).strip();
    } catch (IOException e) {
      return "";
    }
  }
}
