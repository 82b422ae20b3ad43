package dev.kiln.image;

import dev.kiln.host.AtomicFiles;
import dev.kiln.image.layer.LayerApplier;
import dev.kiln.image.layer.LayerStats;
import dev.kiln.image.oci.Descriptor;
import dev.kiln.image.oci.PulledImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * A root filesystem tree made into a template image: an image's layers applied in order into a
 * directory, the tree checked for something that runs, then written by mkfs.ext4 into a new image
 * artifact. Template builds of images and Dockerfile builds' FROM lines both come here.
 */
public final class RootfsImages {
  private static final long MIB = 1 << 20;
  /** The image file's name in its artifact directory. */
  public static final String ROOTFS = "rootfs.ext4";

  /** A published image artifact ({@code dir}, holding {@link #ROOTFS}), not yet recorded by anything: the caller records it. */
  public record Made(Path dir, long bytes) {
    public Path rootfs() {
      return dir.resolve(ROOTFS);
    }
  }

  private RootfsImages() {}

  /** Applies the image's layers in order into {@code work} (emptied first). */
  public static void unpack(PulledImage image, Path work, Consumer<String> log) throws IOException {
    log.accept("image " + image.manifestDigest() + ": " + image.layers().size() + " layers");
    AtomicFiles.deleteTree(work);
    Files.createDirectories(work);
    for (int i = 0; i < image.layers().size(); i++) {
      Descriptor d = image.layers().get(i);
      long t0 = System.nanoTime();
      LayerStats s;
      try (InputStream in = Files.newInputStream(image.layerFiles().get(i))) {
        s = LayerApplier.apply(work, in);
      }
      log.accept("layer " + (i + 1) + "/" + image.layers().size() + " " + d.digest().shortForm() + ": " + s.entries() + " entries, "
          + s.bytes() / MIB + " MiB, " + s.whiteouts() + " whiteouts, " + (System.nanoTime() - t0) / 1_000_000 + " ms");
    }
    if (!image.config().workingDir().isEmpty()) LayerApplier.createDirectories(work, image.config().workingDir());
  }

  /** Checks the tree and writes it as a new image artifact with {@code freeSpaceMib} to spare. */
  public static Made make(Path tree, long freeSpaceMib, Artifacts artifacts, Consumer<String> log) throws IOException {
    // Before mkfs, so a tree with no OS in it fails now, not at its sandboxes' first exec.
    try {
      log.accept(RootfsCheck.check(tree));
    } catch (RootfsCheck.Unusable e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    Ext4Image.Size size = Ext4Image.plan(tree, freeSpaceMib * MIB);
    log.accept("mkfs.ext4: " + size.contentBytes() / MIB + " MiB in " + size.files() + " files, image " + size.imageBytes() / MIB + " MiB");
    Path building = artifacts.building(Artifacts.Kind.IMAGE);
    try {
      Ext4Image.build(tree, building.resolve(ROOTFS), size);
      // Read-only for good: a rebuild makes a new image, so disks layered on this one never see it change.
      Files.setAttribute(building.resolve(ROOTFS), "unix:mode", 0444);
      Path image = artifacts.publish(building);
      return new Made(image, size.imageBytes());
    } catch (IOException | RuntimeException e) {
      AtomicFiles.deleteTree(building);
      throw e;
    }
  }

  /**
   * A raw disk (a Dockerfile build's last layer, with its chain) written as a new image artifact by
   * {@code write}, which is given the file to write.
   */
  public static Made fromDisk(Artifacts artifacts, WriteImage write) throws IOException {
    Path building = artifacts.building(Artifacts.Kind.IMAGE);
    try {
      write.to(building.resolve(ROOTFS));
      Files.setAttribute(building.resolve(ROOTFS), "unix:mode", 0444);
      long bytes = Files.size(building.resolve(ROOTFS));
      return new Made(artifacts.publish(building), bytes);
    } catch (IOException | RuntimeException e) {
      AtomicFiles.deleteTree(building);
      throw e;
    }
  }

  @FunctionalInterface
  public interface WriteImage {
    void to(Path file) throws IOException;
  }
}
