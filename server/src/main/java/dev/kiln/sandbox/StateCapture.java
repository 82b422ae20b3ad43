package dev.kiln.sandbox;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.RunningVm;
import dev.kiln.vmm.SavedState;
import dev.kiln.vmm.VmSpec;
import dev.kiln.vmm.VmmException;
import dev.kiln.host.VerifiedFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saves a running sandbox's RAM, devices and disk at one instant, and lets it run on: what a
 * checkpoint keeps and what a fork of the live state starts from. The VM stops for as long as
 * saving its RAM takes; in that stop its top disk layer is frozen (read-only from then on) and a
 * new layer on it takes the VM's writes. The frozen layer is the base of every restore and fork
 * made from the saved state, so they copy no disk data.
 */
final class StateCapture {
  private static final Logger log = LoggerFactory.getLogger(StateCapture.class);
  private static final Duration SAVE_TIMEOUT = Duration.ofMinutes(5);
  private final SandboxRepository repo;
  private final DiskLayers disks;
  private final Seams seam;
  private final VerifiedFiles savedStates;

  StateCapture(SandboxRepository repo, DiskLayers disks, Seams seam, VerifiedFiles savedStates) {
    this.savedStates = savedStates;
    this.repo = repo;
    this.disks = disks;
    this.seam = seam;
  }

  /**
   * Freezes the VM's top disk layer, saves its state to {@code state} and lets it run on. The
   * caller holds the sandbox's lock and has checked that it runs. On failure the sandbox runs on
   * and the 500 or 409 says why; the state's directory is removed.
   */
  Checkpoints.Saved capture(LiveSandbox sb, SandboxRow r, Path state, CheckpointFiles files) throws InterruptedException {
    VmSpec current = SandboxRows.vmSpecOf(r);
    RunningVm vm = sb.vm;
    if (vm == null) throw new IllegalStateException("sandbox " + r.id() + " is running without a VM");
    try {
      Path next = vm.freezeDisk(disks);
      seam.at(LifecycleSeam.Point.DISK_FROZEN, r.id());
      // From here the VM writes to the new layer, whatever happens to the save.
      repo.recordVm(r.id(), VmRecords.encode(current.withRootDisk(next)), vm.pid());
      disks.recorded(next);
      SavedState saved = vm.saveState(state, SAVE_TIMEOUT);
      savedStates.markVerified(saved.file(), saved.sha256());
      return new Checkpoints.Saved(current, saved.file(), saved.sha256(), saved.bytes());
    } catch (IOException | VmmException | RuntimeException e) {
      files.removeState(state);
      if (e instanceof KilnException k) throw k;
      if (e instanceof RuntimeException) log.error("sandbox={} checkpoint failed on a bug", r.id(), e);
      String why = e instanceof RuntimeException ? "internal error (in the daemon's log)" : e.getMessage();
      throw new KilnException(ErrorCode.SNAPSHOT_FAILED, "sandbox " + r.id() + " could not be checkpointed (it runs on): " + why, e);
    } finally {
      try {
        vm.resume();
      } catch (VmmException e) {
        log.error("sandbox={} did not resume after its checkpoint: {}", r.id(), e.getMessage());
      }
    }
  }
}
