package dev.kiln.vmm;

import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A VM's copy-on-write disk: a qcow2 whose backing file (never written through it) is {@code base}.
 * Each one made or re-pointed here gets its {@link DiskParents} record, which is what a chain is
 * built from: the header's name is only for QEMU's tools.
 */
public final class Overlay {
  /** How the base is stored: a template's raw ext4 image, or a qcow2 (a snapshot's disk). */
  public enum BaseFormat { RAW, QCOW2 }

  /**
   * The bytes of an empty layer on a base, as qemu-img wrote it the first time (about 192 KiB of
   * header and tables). qemu-img writes the same bytes for the same base name, format and size, so
   * later layers on that base are copies: starting qemu-img (7 ms idle, several times that on a
   * busy host) was on the path of every create from a snapshot, fork and restore.
   */
  private static final Map<EmptyLayer, byte[]> EMPTY_LAYERS = Collections.synchronizedMap(new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<EmptyLayer, byte[]> eldest) {
      return size() > 64;
    }
  });
  /** An empty layer is a few clusters; anything larger is not cached. */
  private static final long MAX_EMPTY_LAYER = 1 << 20;

  /** What an empty layer's bytes depend on: the name in its header, the base's format and the base itself (its size sets the layer's). */
  private record EmptyLayer(String backingName, BaseFormat format, Path base, long baseSize, long baseModified) {}

  private Overlay() {}

  public static void create(Path overlay, Path base, BaseFormat format) {
    create(overlay, base.toString(), format);
  }

  /**
   * Like {@link #create}, but the header names {@code base} relative to the overlay's directory, so
   * the pair can be copied to another directory tree with the same shape (another host's data
   * directory) and still find each other. QEMU resolves a relative backing name against the
   * directory of the file that names it.
   */
  public static void createRelative(Path overlay, Path base, BaseFormat format) {
    Path from = overlay.toAbsolutePath().normalize().getParent();
    create(overlay, from.relativize(base.toAbsolutePath().normalize()).toString(), format);
  }

  /**
   * Points an existing layer at {@code base} by rewriting its header only ({@code qemu-img rebase
   * -u}): for a layer fetched from another node, whose header names the base where that node kept
   * it. The caller has the same base, byte for byte, at the new place.
   */
  public static void rebase(Path overlay, Path base, BaseFormat format) {
    CommandRunner.run(List.of("qemu-img", "rebase", "-u", "-f", "qcow2", "-F", format.name().toLowerCase(), "-b", base.toString(), overlay.toString()),
        Duration.ofSeconds(30));
    record(overlay, base.toString());
  }

  /** The record first: a layer is never seen (by a collection, say) without one. */
  private static void create(Path overlay, String backingName, BaseFormat format) {
    record(overlay, backingName);
    try {
      Optional<EmptyLayer> key = emptyLayerOf(overlay, backingName, format);
      byte[] empty = key.map(EMPTY_LAYERS::get).orElse(null);
      if (empty != null) {
        Files.write(overlay, empty, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return;
      }
      CommandRunner.run(List.of("qemu-img", "create", "-q", "-f", "qcow2", "-F", format.name().toLowerCase(), "-b", backingName,
          overlay.toString()), Duration.ofSeconds(30));
      if (key.isPresent() && Files.size(overlay) <= MAX_EMPTY_LAYER) EMPTY_LAYERS.put(key.get(), Files.readAllBytes(overlay));
    } catch (IOException e) {
      throw forgetAfter(overlay, new UncheckedIOException("a disk layer on " + backingName + " could not be made: " + e.getMessage(), e));
    } catch (RuntimeException e) {
      throw forgetAfter(overlay, e);
    }
  }

  /** The key of the layer's bytes; empty when the base cannot be read (qemu-img then says why). */
  private static Optional<EmptyLayer> emptyLayerOf(Path overlay, String backingName, BaseFormat format) {
    Path base = overlay.toAbsolutePath().getParent().resolve(backingName).normalize();
    try {
      return Optional.of(new EmptyLayer(backingName, format, base, Files.size(base), Files.getLastModifiedTime(base).toMillis()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** A layer that was not made has no parent record either. */
  private static RuntimeException forgetAfter(Path overlay, RuntimeException e) {
    try {
      DiskParents.forget(overlay);
    } catch (IOException suppressed) {
      e.addSuppressed(suppressed);
    }
    return e;
  }

  private static void record(Path overlay, String backingName) {
    try {
      DiskParents.record(overlay, backingName);
    } catch (IOException e) {
      throw new UncheckedIOException("the parent record of " + overlay + " could not be written: " + e.getMessage(), e);
    }
  }
}
