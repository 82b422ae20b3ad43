package dev.kiln.vmm;

/** A way of running VMs. Implementations start VMs detached from the daemon so they outlive it. */
public interface VmmBackend {
  /** Starts the VM and returns once its process runs and its control and agent sockets exist. */
  RunningVm start(VmSpec spec) throws VmmException, InterruptedException;

  /**
   * Re-attaches to a VM a previous daemon started; fails if its process is gone or is not that VM.
   * The VM's {@link RunningVm#spec} is the VM as it runs, which may be a step ahead of {@code spec}
   * (a root disk frozen onto a new layer just before the daemon stopped): record it.
   */
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
   * Starts a VM that takes a running VM over from another host: it loads the stream that VM's
   * {@link RunningVm#migrateOut} sends and stays stopped. {@code spec} describes the same devices,
   * with its RAM {@link GuestMemory#streamed}; its root disk is opened only at
   * {@link RunningVm#resume}, so the caller can write the top layer (the source's last writes)
   * into that file in between. Returns once the stream is loaded; on failure nothing runs.
   */
  RunningVm receive(VmSpec spec, java.io.InputStream stream, java.time.Duration timeout) throws VmmException, InterruptedException;

  /**
   * Kills the VM a crashed daemon left running in {@code runDir} without a record of it (a pool or
   * snapshot VM), if its pid still belongs to that VM. Returns whether there was one.
   */
  boolean killLeftover(java.nio.file.Path runDir);

  /**
   * The guest kernel's command line on this backend: what the backend's devices and the host's
   * timekeeping need, then {@code guestParameters} (the guest artifacts' own, the network's).
   */
  String kernelCmdline(Accelerator accelerator, String guestParameters);

  /**
   * Boots a VM to be saved as a {@link VmImage} into {@code dir} (new, empty): its root disk a new
   * layer on {@code base} and its RAM a file, both inside {@code dir}; {@code spec}'s own disk and
   * memory are not used.
   */
  RunningVm startImageVm(VmSpec spec, DiskBase base, java.nio.file.Path dir) throws VmmException, InterruptedException;

  /** Saves a VM from {@link #startImageVm} into its directory and stops it; the image's files are read-only from then on. */
  VmImage saveImage(RunningVm vm, java.nio.file.Path dir, java.time.Duration timeout) throws VmmException, java.io.IOException, InterruptedException;

  /**
   * Gives the files of an image copied from another host into {@code dir} (a template snapshot
   * fetched from object storage) the owners and modes {@link #saveImage} gives them, before any
   * clone uses it. The image's disk names its base relative to {@code dir}, so it works wherever
   * its base was copied to the same place beside it.
   */
  void adoptImage(java.nio.file.Path dir) throws java.io.IOException;

  /** What a clone's root disk layer is made on. */
  DiskBase cloneBase(VmImage image);

  /**
   * Starts a clone of the image, running or, if {@code paused}, with its state loaded and no vCPU
   * run yet. {@code spec} is the clone's (its root disk a layer on {@link #cloneBase}, the
   * image's machine and size); its RAM comes from the image. The image's files are checked against
   * its sums first: a mismatch is an IOException and nothing starts.
   */
  RunningVm restoreClone(VmImage image, VmSpec spec, boolean paused, java.time.Duration timeout)
      throws VmmException, java.io.IOException, InterruptedException;

  /** What this backend offers on this host when its VMs run on {@code accelerator}. */
  VmmCapabilities capabilities(Accelerator accelerator);
}
