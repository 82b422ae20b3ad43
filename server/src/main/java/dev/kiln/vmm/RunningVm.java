package dev.kiln.vmm;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/** A VM process the daemon controls. */
public interface RunningVm {
  /** The VM as it is now: after a hot-plug, what a restore or an adoption of it must be given. */
  VmSpec spec();

  long pid();

  /** What the VM's QEMU used on the host so far (its control group's counters); empty where there are no cgroups. */
  java.util.Optional<Cgroups.Usage> usage();

  boolean isAlive();

  /** Completes when the VM process exits, for whatever reason. */
  CompletableFuture<Void> onExit();

  /**
   * Stops the VM: SIGTERM, up to {@code grace} to exit, then SIGKILL. Idempotent; removes the
   * sockets and pid file even when the process had already exited.
   */
  void stop(Duration grace) throws VmmException, InterruptedException;

  /**
   * Lets go of the VM without stopping it: closes the control connection so that the next daemon
   * can adopt the VM (QEMU serves one QMP client at a time).
   */
  void detach();

  /** Pauses the VM and writes its state to {@code target}; the VM stays paused until resumed or stopped. */
  SavedState saveState(java.nio.file.Path target, Duration timeout) throws VmmException, InterruptedException;

  /**
   * Sends the VM, running, to a VM another host {@link VmmBackend#receive}s through {@code sink}
   * (see {@link MigrationSink}). Returns once that host has loaded the stream; the VM here is then
   * stopped, its RAM and devices as they went: {@link #resume} takes it back if the other host does
   * not take over, {@link #stop} ends it once it has. On failure the VM runs here as before.
   */
  MigrationStats migrateOut(MigrationSettings settings, MigrationSink sink) throws VmmException, InterruptedException;

  /**
   * Whether the VM stands stopped at the end of a live migration that sent it whole ("postmigrate"):
   * a daemon that died before the other side took it over finds it so.
   */
  boolean stoppedByMigration() throws VmmException, InterruptedException;

  /**
   * Pauses the VM and freezes its disk: a new top layer, made in {@code disks} on the current one,
   * takes the VM's writes from now on, and the current one becomes read-only for good (the base of
   * restores and forks of this instant). Returns the new layer, protected from collection until the
   * caller has recorded it ({@link DiskLayers#recorded}). The VM stays paused, so a
   * {@link #saveState} right after captures RAM and disk at one instant. On failure no new layer
   * is left and the VM writes where it did.
   */
  java.nio.file.Path freezeDisk(DiskLayers disks) throws VmmException, java.io.IOException, InterruptedException;

  /**
   * Copies into the top layer what the layers between it and the chain's bottom ({@code base}, the
   * image the VM's explicit chain ends in) hold, then makes the bottom its backing, while the
   * guest runs on (QEMU's block-stream). The layers skipped
   * are left as they are, for the checkpoints and forks built on them. Waits at most
   * {@code timeout}; a stream that fails or takes longer is cancelled and the chain is as before.
   */
  void flattenDisk(java.nio.file.Path base, java.time.Duration timeout) throws VmmException, InterruptedException;

  /** Grows the VM's root disk (its top layer's virtual size) while it runs; the guest is told by a config-change interrupt. */
  void growRootDisk(long bytes) throws VmmException, InterruptedException;

  /** Stops the VM's vCPUs where they are; {@link #resume} lets them go on. */
  void pause() throws VmmException, InterruptedException;

  /** Lets a paused VM run again. */
  void resume() throws VmmException, InterruptedException;

  /**
   * Hot-plugs vCPUs up to {@code vcpus} (q35 VMs started with room for them; never fewer than
   * now). The guest sees them once its agent onlines them, a moment later.
   */
  void setVcpus(int vcpus) throws VmmException, InterruptedException;

  /**
   * Hot-plugs one DIMM so the VM has {@code memoryMib} in all (q35 VMs started with room for it;
   * never less than now, in steps of {@link Hotplug#DIMM_ALIGN_MIB}); the guest kernel onlines it.
   */
  void setMemoryMib(long memoryMib) throws VmmException, InterruptedException;
}
