package dev.kiln.sandbox;

import dev.kiln.host.AtomicFiles;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.VmmException;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Stops sandboxes' VMs and removes what they leave in their run directories. */
final class SandboxTeardown {
  /** SIGTERM grace before SIGKILL: QEMU needs milliseconds; the guest gets no say in it. */
  static final Duration STOP_GRACE = Duration.ofSeconds(3);
  private static final Logger log = LoggerFactory.getLogger(SandboxTeardown.class);
  private final RunDirs dirs;

  SandboxTeardown(RunDirs dirs) {
    this.dirs = dirs;
  }

  /** Stops the VM and removes the run directory; safe to call on a half-created sandbox. */
  void teardown(LiveSandbox sb) {
    sb.stopping = true;
    if (sb.agent != null) sb.agent.close();
    try {
      if (sb.vm != null) sb.vm.stop(STOP_GRACE);
    } catch (VmmException e) {
      log.error("sandbox={} could not stop its VM: {}", sb.id, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      AtomicFiles.deleteTree(dirs.of(sb.id.value()));
    } catch (IOException e) {
      log.warn("sandbox={} run directory {} not fully removed: {}", sb.id, dirs.of(sb.id.value()), e.toString());
    }
  }

  /** Stops a sandbox's VM (and forgets its paused state) so that another can take its place. */
  void stopForReplacement(LiveSandbox sb) throws InterruptedException {
    stopVm(sb);
    try {
      Files.deleteIfExists(dirs.pausedState(sb.id.value()));
      Files.deleteIfExists(dirs.pausedStateSha256(sb.id.value()));
    } catch (IOException e) {
      log.warn("sandbox={} paused state not removed before its replacement: {}", sb.id, e.getMessage());
    }
  }

  /** Stops the sandbox's VM and closes its agent session, on purpose: its exit fails nothing. Its files stay. */
  void stopVm(LiveSandbox sb) throws InterruptedException {
    RunningVm vm = sb.vm;
    sb.vm = null; // its exit is expected now
    sb.stopping = true;
    if (sb.agent != null) sb.agent.close();
    sb.agent = null;
    try {
      if (vm != null) vm.stop(STOP_GRACE);
    } catch (VmmException e) {
      log.warn("sandbox={} VM not fully stopped: {}", sb.id, e.getMessage());
    }
  }
}
