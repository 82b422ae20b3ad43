package dev.kiln.vmm;

import dev.kiln.host.CommandException;
import dev.kiln.host.CommandRunner;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.HashMap;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every sandbox's disk layers, in one directory: a sandbox writes to its own top qcow2, and a
 * checkpoint freezes that layer (the VM goes on in a new one on top). A frozen layer can be the
 * backing file of other sandboxes' disks (forks) and of checkpoints, so it belongs to no sandbox:
 * it is removed when nothing reaches it any more. Reachability follows each layer's
 * {@link DiskParents} record (never a header a QEMU may have written) from the roots the caller
 * names (every sandbox's and checkpoint's disk).
 */
public final class DiskLayers {
  private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
  private static final Logger log = LoggerFactory.getLogger(DiskLayers.class);
  private static final SecureRandom RANDOM = new SecureRandom();
  /** qcow2: "QFI\xfb". */
  private static final int QCOW2_MAGIC = 0x514649fb;
  /** The qcow2 specification caps backing file names at 1023 bytes. */
  private static final int MAX_BACKING_NAME = 1023;
  /** A layer's file name: random hex, nothing a path could hide in. */
  private static final String LAYER_NAME = "[0-9a-f]{20}\\.qcow2";

  private final Path dir;
  /** Layers created but not yet recorded anywhere the roots come from: never collected. */
  private final Set<Path> pending = ConcurrentHashMap.newKeySet();
  /** Layers something will build on soon (a fork's base), with how many holds each has: roots for as long as they are held. */
  private final Map<Path, Integer> held = new HashMap<>();

  /** A hold on a layer; closing it lets collection have the layer again if nothing else keeps it. */
  public interface Hold extends AutoCloseable {
    @Override
    void close();
  }

  public DiskLayers(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  /** Free space where the layers live: what bounds how far sandbox disks may grow. */
  public long usableSpace() throws IOException {
    Path p = dir;
    while (!Files.exists(p) && p.getParent() != null) p = p.getParent();
    return Files.getFileStore(p).getUsableSpace();
  }

  /**
   * A new, empty layer on {@code base}. It stays protected from {@link #collect} until
   * {@link #recorded} says the caller has stored it where the roots come from.
   */
  public Path create(DiskBase base) throws IOException {
    Path layer = reserve();
    try {
      Overlay.create(layer, base.file(), base.format());
    } catch (RuntimeException e) {
      // Overlay.create forgot the parent record it made.
      pending.remove(layer);
      Files.deleteIfExists(layer);
      if (e instanceof java.io.UncheckedIOException u) throw u.getCause();
      // qemu-img failing is an I/O failure of the host (the base gone, the disk full), not a bug: callers answer it as such.
      if (e instanceof CommandException ce) {
        throw new IOException("a disk layer on " + base.file().getFileName() + " could not be made (qemu-img exited with " + ce.exitCode() + ")", e);
      }
      throw e;
    }
    return layer;
  }

  /**
   * A new layer's name, protected from {@link #collect} like a created one until {@link #recorded}:
   * for a layer that arrives whole (fetched from another node) rather than made here empty.
   */
  public Path reserve() throws IOException {
    Files.createDirectories(dir);
    byte[] name = new byte[10];
    RANDOM.nextBytes(name);
    Path layer = dir.resolve(HexFormat.of().formatHex(name) + ".qcow2");
    pending.add(layer);
    return layer;
  }

  /** The layer of this name here (whether or not it exists); a name no layer of ours could have is refused, never resolved. */
  public Path named(String name) throws IOException {
    if (!name.matches(LAYER_NAME)) throw new IOException("'" + name + "' is not the name of a disk layer");
    return dir.resolve(name);
  }

  /** Whether a file is a disk layer by its name (a sandbox's own, not a template's image or snapshot). */
  public static boolean isLayer(Path file) {
    return file.getFileName().toString().matches(LAYER_NAME);
  }

  /** Where the layers live. */
  public Path dir() {
    return dir;
  }

  /**
   * Points a layer fetched from another node at {@code base}, its base here (the same bytes where
   * this node keeps them): only the header's backing name changes.
   */
  public static void rebase(Path layer, Path base) throws IOException {
    Overlay.rebase(layer, base, isQcow2(base) ? Overlay.BaseFormat.QCOW2 : Overlay.BaseFormat.RAW);
  }

  /** What a new layer on {@code file} is made on: a frozen qcow2 layer or a raw template image, by its header. */
  public static DiskBase baseOf(Path file) throws IOException {
    return isQcow2(file) ? new DiskBase.Layer(file) : new DiskBase.Image(file);
  }

  /**
   * Writes the disk {@code top} stands for (it and its chain, as the daemon's parent records have
   * it) into {@code target} as one raw image, sparse where it reads zeros: a Dockerfile build's
   * last layer becomes a template image. The chain is given to qemu-img explicitly, the bottom's
   * backing null, so no backing-file name a QEMU wrote into a header is followed.
   */
  public static void exportRaw(Path top, Path target, java.time.Duration timeout) throws IOException {
    List<Path> chain = new ArrayList<>();
    chain.add(top.toAbsolutePath().normalize());
    chain.addAll(DiskParents.below(top));
    com.fasterxml.jackson.databind.node.ObjectNode node = null;
    for (int i = chain.size() - 1; i >= 0; i--) {
      Path p = chain.get(i);
      boolean qcow2 = isQcow2(p);
      com.fasterxml.jackson.databind.node.ObjectNode n = JSON.createObjectNode().put("driver", qcow2 ? "qcow2" : "raw");
      n.set("file", JSON.createObjectNode().put("driver", "file").put("filename", p.toString()).put("read-only", true));
      if (qcow2) {
        if (node == null) n.putNull("backing");
        else n.set("backing", node);
      } else if (node != null) {
        throw new IOException("the disk chain of " + top + " has a raw image above its bottom: " + p);
      }
      node = n;
    }
    try {
      CommandRunner.run(List.of("qemu-img", "convert", "-q", "-O", "raw", "json:" + node, target.toString()), timeout);
    } catch (CommandException e) {
      throw new IOException("the disk of " + top.getFileName() + " could not be written as one image (qemu-img exited with " + e.exitCode() + ")", e);
    }
  }

  /** Whether the file is a qcow2 image (a layer, a snapshot's disk) rather than a raw one (a template image). */
  static boolean isQcow2(Path file) throws IOException {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer h = ByteBuffer.allocate(4);
      return ch.read(h, 0) == 4 && h.getInt(0) == QCOW2_MAGIC;
    }
  }

  /**
   * The layer is now stored where {@link #collect}'s roots come from. Synchronized with collect:
   * a layer is always either pending or in the roots a collection reads.
   */
  public synchronized void recorded(Path layer) {
    pending.remove(layer);
  }

  /**
   * Keeps {@code layer} and its chain from collection until the hold is closed: for work that will
   * build on a layer only its current roots keep (a fork of a checkpoint or of a live sandbox, which
   * a delete of the checkpoint or of its sandbox could otherwise leave without a root before the
   * fork's own layer exists). Take it while a root still names the layer (under the lock that
   * guards that root).
   */
  public synchronized Hold hold(Path layer) {
    Path p = layer.toAbsolutePath().normalize();
    held.merge(p, 1, Integer::sum);
    return () -> release(p);
  }

  private synchronized void release(Path layer) {
    held.computeIfPresent(layer, (k, n) -> n == 1 ? null : n - 1);
  }

  /** Deletes a layer nothing was built on (a VM that never came up). */
  public void discard(Path layer) {
    try {
      Files.deleteIfExists(layer);
      DiskParents.forget(layer);
    } catch (IOException e) {
      log.warn("disk layer {} not removed: {}", layer, e.toString());
    } finally {
      recorded(layer);
    }
  }

  /**
   * Makes a layer read-only for good: nothing may write a layer others are built on. Root's alone:
   * a VM built on it is handed it open (QemuBackend), so no VMM user can open another's layers.
   */
  public static void freeze(Path layer) throws IOException {
    Files.setAttribute(layer, "unix:uid", 0);
    Files.setAttribute(layer, "unix:gid", 0);
    Files.setAttribute(layer, "unix:mode", 0400);
  }

  /**
   * Deletes every layer in the directory that no root reaches; returns how many. Fails closed: an
   * error it cannot explain (the roots cannot be listed, a layer's header is unreadable or garbled,
   * a backing file outside the directory does not resolve, the directory cannot be read) aborts
   * the whole pass before anything is deleted, and the log says why. A missing layer is no such
   * error: nothing can be lost by not following it.
   */
  public synchronized int collect(Supplier<Set<Path>> roots) {
    if (!Files.isDirectory(dir)) return 0;
    Set<Path> reachable;
    List<Path> unreachable = new ArrayList<>();
    try {
      Set<Path> all = new HashSet<>(roots.get());
      all.addAll(held.keySet());
      reachable = reachable(all);
      try (var files = Files.newDirectoryStream(dir, "*.qcow2")) {
        for (Path f : files) {
          // A layer that is garbage by the roots but whose header is garbled may be a root's chain
          // this pass misread: keep everything until a person looks.
          if (reachable.contains(f)) continue;
          try {
            DiskParents.of(f);
          } catch (IOException e) {
            throw new IOException("disk layer " + f + " has an unreadable header: " + e.getMessage(), e);
          }
          unreachable.add(f);
        }
      }
    } catch (IOException e) {
      log.warn("disk layers not collected, nothing deleted: {}", e.getMessage());
      return 0;
    } catch (RuntimeException e) {
      log.error("disk layers not collected, nothing deleted, on a bug", e);
      return 0;
    }
    int removed = 0;
    for (Path f : unreachable) {
      if (pending.contains(f)) continue; // created since the roots were read
      try {
        Files.deleteIfExists(f);
        DiskParents.forget(f);
        removed++;
      } catch (IOException e) {
        log.warn("disk layers collection stopped after removed={}: {}", removed, e.toString());
        return removed;
      }
    }
    if (removed > 0) log.info("disk layers collected removed={} kept={}", removed, reachable.size());
    return removed;
  }

  /** The layers in the directory the roots (and pending layers) are built on; throws on anything it cannot follow. */
  private Set<Path> reachable(Set<Path> roots) throws IOException {
    Set<Path> reachable = new HashSet<>();
    ArrayDeque<Path> todo = new ArrayDeque<>();
    for (Path root : roots) todo.push(inDirOrOutside(root.toAbsolutePath().normalize(), false));
    Set<Path> pendingNow = Set.copyOf(pending);
    todo.addAll(pendingNow);
    while (!todo.isEmpty()) {
      Path p = todo.pop();
      if (!p.startsWith(dir) || !reachable.add(p)) continue;
      Optional<Path> backing;
      try {
        backing = DiskParents.of(p);
      } catch (IOException e) {
        // qemu-img may be writing a pending layer's header right now; what it is built on is a root's.
        if (pendingNow.contains(p)) continue;
        throw new IOException("disk layer " + p + " has an unreadable header: " + e.getMessage(), e);
      }
      if (backing.isPresent()) todo.push(inDirOrOutside(backing.get().toAbsolutePath().normalize(), true));
    }
    return reachable;
  }

  /**
   * A path outside the directory may still lead into it (a symbolic link): its real path says. A
   * backing file outside that does not resolve is an error (an unreadable chain); a root outside
   * that does not exist has nothing to protect.
   */
  private Path inDirOrOutside(Path p, boolean backing) throws IOException {
    if (p.startsWith(dir)) return p;
    try {
      Path real = p.toRealPath();
      Path realDir = dir.toRealPath();
      return real.startsWith(realDir) ? dir.resolve(realDir.relativize(real)) : real;
    } catch (java.nio.file.NoSuchFileException e) {
      if (!backing) return p;
      throw new IOException("backing file " + p + " outside " + dir + " does not exist", e);
    }
  }

  /** Every layer in the directory now, whether recorded or pending. */
  public List<Path> layers() throws IOException {
    if (!Files.isDirectory(dir)) return List.of();
    List<Path> all = new ArrayList<>();
    try (var files = Files.newDirectoryStream(dir, "*.qcow2")) {
      files.forEach(all::add);
    }
    return all;
  }

  /** The disk size a qcow2 layer gives its VM (its virtual size), from its header. */
  public static long virtualSize(Path qcow2) throws IOException {
    try (FileChannel ch = FileChannel.open(qcow2, StandardOpenOption.READ)) {
      ByteBuffer h = header(ch, 32);
      long size = h.getLong(24);
      if (size < 0) throw new IOException("implausible virtual size in " + qcow2);
      return size;
    }
  }

  private static ByteBuffer header(FileChannel ch, int bytes) throws IOException {
    ByteBuffer h = ByteBuffer.allocate(bytes);
    if (ch.read(h, 0) < bytes) throw new IOException("truncated qcow2 header");
    h.flip();
    if (h.getInt(0) != QCOW2_MAGIC) throw new IOException("not a qcow2 image");
    return h;
  }

  /** The backing file name as the header has it (relative names stay relative), read with every length checked. */
  static Optional<String> backingName(Path qcow2) throws IOException {
    return backingOf(qcow2).map(p -> p.toString()).map(abs -> {
      try (FileChannel ch = FileChannel.open(qcow2, StandardOpenOption.READ)) {
        ByteBuffer h = header(ch, 20);
        ByteBuffer name = ByteBuffer.allocate(h.getInt(16));
        ch.read(name, h.getLong(8));
        return new String(name.array(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        return abs;
      }
    });
  }

  /** The backing file named in a qcow2 header, read with every length checked. */
  public static Optional<Path> backingOf(Path qcow2) throws IOException {
    if (!Files.exists(qcow2)) return Optional.empty();
    try (FileChannel ch = FileChannel.open(qcow2, StandardOpenOption.READ)) {
      ByteBuffer h = header(ch, 20);
      long offset = h.getLong(8);
      int size = h.getInt(16);
      if (offset == 0 || size == 0) return Optional.empty();
      if (size < 0 || size > MAX_BACKING_NAME || offset < 0 || offset > 65536) throw new IOException("implausible backing file field");
      ByteBuffer name = ByteBuffer.allocate(size);
      if (ch.read(name, offset) < size) throw new IOException("truncated backing file name");
      Path backing = Path.of(new String(name.array(), StandardCharsets.UTF_8));
      return Optional.of(backing.isAbsolute() ? backing : qcow2.resolveSibling(backing));
    }
  }
}
