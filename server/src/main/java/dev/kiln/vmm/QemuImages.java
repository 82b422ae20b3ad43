package dev.kiln.vmm;

import dev.kiln.host.Checksums;
import dev.kiln.host.VerifiedFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The QEMU layout of a {@link VmImage}: {@code state} (the migration stream without RAM),
 * {@code memory} (the RAM file) and {@code disk.qcow2} (a layer on the template image). The disk
 * and state are root-owned and read-only once saved. The memory file must stay writable by every
 * VMM uid that clones it (QEMU 7.2 opens it read-write even to map it private): it is root's and the
 * shared VMM group's, mode 0660, so a QEMU taken over by its guest could write to it: its checksum
 * is verified again whenever its change time moves, which no user can forge, before any further
 * clone loads it. Its disk's parent travels as its record (disk.qcow2.parent), not its header.
 *
 * <p>The disk names its base relative to the image's directory ({@code ../../images/<id>/rootfs.ext4}
 * for an artifact), so an image copied into another data directory, beside a copy of its base,
 * works there as it is.
 */
final class QemuImages {
  private final QemuBackend backend;
  /** Memory files are the size of the guest's RAM: checked once per process and change. */
  private final VerifiedFiles verifiedMemory = new VerifiedFiles();

  QemuImages(QemuBackend backend) {
    this.backend = backend;
  }

  private static Path state(Path dir) {
    return dir.resolve("state");
  }

  private static Path memory(Path dir) {
    return dir.resolve("memory");
  }

  private static Path disk(Path dir) {
    return dir.resolve("disk.qcow2");
  }

  RunningVm start(VmSpec spec, DiskBase base, Path dir) throws VmmException, InterruptedException {
    Overlay.createRelative(disk(dir), base.file(), base.format());
    return backend.start(spec.withRootDisk(disk(dir)).withMemory(new GuestMemory(memory(dir), GuestMemory.Mode.SHARED)));
  }

  VmImage save(RunningVm vm, Path dir, Duration timeout) throws VmmException, IOException, InterruptedException {
    SavedState state = vm.saveState(state(dir), timeout);
    vm.stop(Duration.ofSeconds(3));
    for (Path p : List.of(disk(dir), state.file())) rootReadOnly(p);
    shareMemory(memory(dir), backend.sharedGroup());
    String memorySha = Checksums.sha256(memory(dir));
    verifiedMemory.markVerified(memory(dir), memorySha); // computed just now: the first clone need not redo it
    return new VmImage(dir, new VmImage.Sums(state.sha256(), state.bytes(), memorySha));
  }

  /** An image's files copied from another host: the owners and modes {@link #save} gives them, before any clone reads them. */
  void adopt(Path dir, java.util.OptionalInt sharedGroup) throws IOException {
    for (Path p : List.of(disk(dir), state(dir))) rootReadOnly(p);
    shareMemory(memory(dir), sharedGroup);
  }

  private static void rootReadOnly(Path p) throws IOException {
    Files.setAttribute(p, "unix:uid", 0);
    Files.setAttribute(p, "unix:gid", 0);
    Files.setAttribute(p, "unix:mode", 0444);
  }

  /**
   * Root's and the VMM group's (every clone's QEMU opens it read-write), or root's alone where QEMU
   * runs as the daemon. Changed only if it is not so already: a change moves the change time, and
   * the next clone would checksum the whole file again.
   */
  static void shareMemory(Path memory, java.util.OptionalInt group) throws IOException {
    int gid = group.orElse(0);
    int mode = group.isPresent() ? 0660 : 0600;
    if ((Integer) Files.getAttribute(memory, "unix:uid") != 0) Files.setAttribute(memory, "unix:uid", 0);
    if ((Integer) Files.getAttribute(memory, "unix:gid") != gid) Files.setAttribute(memory, "unix:gid", gid);
    if (((Integer) Files.getAttribute(memory, "unix:mode") & 07777) != mode) Files.setAttribute(memory, "unix:mode", mode);
  }

  RunningVm restore(VmImage image, VmSpec spec, boolean paused, Duration timeout) throws VmmException, IOException, InterruptedException {
    verify(image);
    VmSpec clone = spec.withMemory(new GuestMemory(memory(image.dir()), GuestMemory.Mode.CLONE));
    return paused ? backend.restorePaused(clone, state(image.dir()), timeout) : backend.restore(clone, state(image.dir()), timeout);
  }

  /** The state file every time (it is small), the memory file once per process and change of it (it is the size of the RAM). */
  private void verify(VmImage image) throws IOException {
    Path state = state(image.dir());
    VmImage.Sums sums = image.sums();
    if (Files.size(state) != sums.stateBytes() || !Checksums.sha256(state).equals(sums.stateSha256())) {
      throw new IOException("snapshot state " + state + " does not match its checksum");
    }
    verifiedMemory.verify(memory(image.dir()), sums.memorySha256());
  }

  DiskBase cloneBase(VmImage image) {
    return new DiskBase.Layer(disk(image.dir()));
  }
}
