package dev.kiln.vmm;

/** A way of running VMs. Implementations start VMs detached from the daemon so they outlive it. */
public interface VmmBackend {
  /** Starts the VM and returns once its process runs and its control and agent sockets exist. */
  RunningVm start(VmSpec spec) throws VmmException, InterruptedException;

  /** Re-attaches to a VM a previous daemon started; fails if its process is gone or is not that VM. */
  RunningVm adopt(VmSpec spec, long pid) throws VmmException, InterruptedException;

  /**
   * Starts a VM from a saved state instead of booting it; {@code spec} must describe the same
   * devices the state was saved from. Returns once the VM runs.
   */
  RunningVm restore(VmSpec spec, java.nio.file.Path state, java.time.Duration timeout) throws VmmException, InterruptedException;

  /**
   * Like {@link #restore} but leaves the VM paused once its state is loaded: its RAM and devices
   * are in place, no vCPU runs until {@link RunningVm#resume}. What warm pools keep.
   */
  RunningVm restorePaused(VmSpec spec, java.nio.file.Path state, java.time.Duration timeout) throws VmmException, InterruptedException;

  /**
   * Kills the VM a crashed daemon left running in {@code runDir} without a record of it (a pool or
   * snapshot VM), if its pid still belongs to that VM. Returns whether there was one.
   */
  boolean killLeftover(java.nio.file.Path runDir);

  /** What this backend offers on this host when its VMs run on {@code accelerator}. */
  VmmCapabilities capabilities(Accelerator accelerator);
}
