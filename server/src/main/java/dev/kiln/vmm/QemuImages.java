package dev.kiln.vmm;

import dev.kiln.host.Checksums;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The QEMU layout of a {@link VmImage}: {@code state} (the migration stream without RAM),
 * {@code memory} (the RAM file) and {@code disk.qcow2} (a layer on the template image). All three
 * are root's and read-only once saved, the memory root's alone (0400). Clones never open the memory file: they map a sealed copy
 * of it ({@link SealedMemory}), checked against the image's checksum as it is made. Its disk's
 * parent travels as its record (disk.qcow2.parent), not its header.
 *
 * <p>The disk names its base relative to the image's directory ({@code ../../images/<id>/rootfs.ext4}
 * for an artifact), so an image copied into another data directory, beside a copy of its base,
 * works there as it is.
 */
final class QemuImages {
  private final QemuBackend backend;
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
    rootAlone(memory(dir));
    String memorySha = backend.sealedMemory(memory(dir)).sha256(); // the first clone maps this very copy
    return new VmImage(dir, new VmImage.Sums(state.sha256(), state.bytes(), memorySha));
  }

  /** An image's files copied from another host: the owners and modes {@link #save} gives them, before any clone reads them. */
  void adopt(Path dir) throws IOException {
    for (Path p : List.of(disk(dir), state(dir))) rootReadOnly(p);
    rootAlone(memory(dir));
  }

  /** The guest's RAM as the template booted it (its keys, its seeds): root's to read, and no one's to write. */
  private static void rootAlone(Path memory) throws IOException {
    Files.setAttribute(memory, "unix:uid", 0);
    Files.setAttribute(memory, "unix:gid", 0);
    Files.setAttribute(memory, "unix:mode", 0400);
  }

  private static void rootReadOnly(Path p) throws IOException {
    Files.setAttribute(p, "unix:uid", 0);
    Files.setAttribute(p, "unix:gid", 0);
    Files.setAttribute(p, "unix:mode", 0444);
  }

  RunningVm restore(VmImage image, VmSpec spec, boolean paused, Duration timeout) throws VmmException, IOException, InterruptedException {
    verify(image);
    VmSpec clone = spec.withMemory(new GuestMemory(memory(image.dir()), GuestMemory.Mode.CLONE));
    return paused ? backend.restorePaused(clone, state(image.dir()), timeout) : backend.restore(clone, state(image.dir()), timeout);
  }

  /**
   * The state file every time (it is small); the memory as its sealed copy, hashed once as it was
   * made (it is the size of the RAM) and unchangeable since.
   */
  private void verify(VmImage image) throws IOException {
    Path state = state(image.dir());
    VmImage.Sums sums = image.sums();
    if (Files.size(state) != sums.stateBytes() || !Checksums.sha256(state).equals(sums.stateSha256())) {
      throw new IOException("snapshot state " + state + " does not match its checksum");
    }
    if (!backend.sealedMemory(memory(image.dir())).sha256().equals(sums.memorySha256())) {
      throw new IOException("snapshot memory " + memory(image.dir()) + " does not match its checksum");
    }
  }

  DiskBase cloneBase(VmImage image) {
    return new DiskBase.Layer(disk(image.dir()));
  }
}
