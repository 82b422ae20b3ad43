package dev.kiln.sandbox;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.kiln.blob.ObjectKey;
import dev.kiln.blob.ObjectStore;
import dev.kiln.blob.ObjectStoreException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.store.EventRepository;
import dev.kiln.vmm.DiskLayers;
import dev.kiln.vmm.DiskParents;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saved VM states in a cluster's bucket, so that another node can resume a paused sandbox or fork
 * a checkpoint (docs/adr/0017): the state file, and every disk layer of this node the state's disk
 * is built on, down to the template artifact at the bottom (already in the bucket). Frozen layers
 * are immutable and shared under {@code disks/<name>}, put once; a paused sandbox's own top layer
 * goes under the state's prefix. A manifest, put last, says what belongs to the state: a state is
 * in the bucket exactly when its manifest is.
 */
final class BucketStates {
  private static final Logger log = LoggerFactory.getLogger(BucketStates.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What a state needs, as the manifest lists it; layers from the top down, the base as the source
   * node named it. A stopped sandbox's disk has no state (null): it boots.
   */
  record Manifest(String state, String stateSha256, Layer top, List<Layer> below, String base) {}

  /** A disk layer in the bucket, and the name it has in a data directory's {@code disks/}. */
  record Layer(String key, String name) {}

  /**
   * A state fetched here: the state file (null for a stopped sandbox's disk), its checksum, its top layer (a frozen one shared, or a
   * copy of its own, pending until recorded), and a hold that keeps the chain from collection until
   * the caller has built on it or recorded it.
   */
  record Fetched(Path state, String sha256, Path top, DiskLayers.Hold hold) implements AutoCloseable {
    @Override
    public void close() {
      hold.close();
    }
  }

  /**
   * A VM whose saved state another node wrote, with RAM this node can give it: a clone maps its
   * template snapshot's memory file, which the fetch of its disk chain brought here (the same
   * artifact, at this data directory's path); failing that, all of its RAM comes from the state
   * (every page of a private mapping is in it).
   */
  dev.kiln.vmm.VmSpec withMemoryHere(dev.kiln.vmm.VmSpec spec) {
    Optional<dev.kiln.vmm.GuestMemory> m = spec.memory();
    if (m.isPresent() && m.get().mode() == dev.kiln.vmm.GuestMemory.Mode.CLONE) {
      Path here = artifacts.local(m.get().file());
      if (Files.isRegularFile(here)) return spec.withMemory(new dev.kiln.vmm.GuestMemory(here, dev.kiln.vmm.GuestMemory.Mode.CLONE));
    }
    return spec.withStreamedMemory();
  }

  /** A fetched top layer of its own is now recorded where collection's roots come from. */
  void recorded(Path top) {
    disks.recorded(top);
  }

  private final Optional<ObjectStore> store;
  private final DiskLayers disks;
  private final TemplateSnapshots artifacts;
  private final EventRepository events;

  BucketStates(Optional<ObjectStore> store, DiskLayers disks, TemplateSnapshots artifacts, EventRepository events) {
    this.store = store;
    this.disks = disks;
    this.artifacts = artifacts;
    this.events = events;
  }

  /**
   * A sandbox just paused, in a cluster: its state goes to the bucket, so that it can resume on
   * another node if this one dies. A failure costs only that: the sandbox resumes here, and its
   * events say so.
   */
  void sharePaused(String sandboxId, long version, Path state, String sha256, Path top) {
    share(sandboxId, pausedPrefix(sandboxId, version), state, sha256, top, false, "its paused state");
  }

  /** A checkpoint just taken, in a cluster: to the bucket, so that any node can fork it. */
  void shareCheckpoint(String sandboxId, String checkpointId, Path state, String sha256, Path disk) {
    share(sandboxId, checkpointPrefix(sandboxId, checkpointId), state, sha256, disk, true, "checkpoint " + checkpointId);
  }

  private void share(String sandboxId, String prefix, Path state, String sha256, Path top, boolean frozen, String what) {
    if (store.isEmpty()) return;
    try {
      publish(prefix, state, sha256, top, frozen);
    } catch (IOException | ObjectStoreException e) {
      log.warn("sandbox={} {} not stored in the object store: {}", sandboxId, what, e.getMessage());
      events.append(sandboxId, "not-shared", what + " could not be stored in the object store (" + e.getMessage() + "): only this node can use it");
    }
  }

  /** Whether states are shared: only in a cluster with a bucket. */
  boolean shared() {
    return store.isPresent();
  }

  /**
   * Where one pause of a sandbox is kept: under the row's version as the pause left it, so that a
   * state from an earlier pause (the sandbox resumed since, and its later pause not stored, or
   * stored only in part) is never taken for the current one.
   */
  static String pausedPrefix(String sandboxId, long version) {
    return "sandboxes/" + sandboxId + "/paused-" + version;
  }

  /** Where a stopped sandbox's disk is kept when its node is drained: under the row's version, as a pause. */
  static String stoppedPrefix(String sandboxId, long version) {
    return "sandboxes/" + sandboxId + "/stopped-" + version;
  }

  static String checkpointPrefix(String sandboxId, String checkpointId) {
    return "checkpoints/" + sandboxId + "/" + checkpointId;
  }

  /**
   * Puts the state and its disk chain under {@code prefix}, the manifest last. {@code topFrozen}:
   * the top layer is immutable (a checkpoint's) and is shared like the layers below it; otherwise it
   * is this state's own copy (a paused sandbox's, which it writes to again once resumed).
   */
  void publish(String prefix, Path state, String sha256, Path top, boolean topFrozen) throws IOException {
    publish(prefix, Optional.of(state), sha256, top, topFrozen);
  }

  /** A stopped sandbox's disk alone (no VM state: it boots from it), under {@code prefix}. */
  void publishDisk(String prefix, Path top) throws IOException {
    publish(prefix, Optional.empty(), null, top, false);
  }

  private void publish(String prefix, Optional<Path> state, String sha256, Path top, boolean topFrozen) throws IOException {
    ObjectStore s = store.orElseThrow();
    long t0 = System.nanoTime();
    Chain chain = shareChain(top);
    List<Layer> below = chain.below();
    Layer topLayer = topFrozen ? shareFrozen(s, top) : new Layer(prefix + "/disk", top.getFileName().toString());
    if (!topFrozen) put(s, topLayer.key(), top);
    if (state.isPresent()) put(s, prefix + "/state", state.get());
    Path manifest = Files.createTempFile(disks.dir(), ".manifest", ".json");
    try {
      AtomicFiles.write(manifest, JSON.writeValueAsBytes(new Manifest(state.map(x -> prefix + "/state").orElse(null), sha256, topLayer, below, chain.base())));
      put(s, prefix + "/manifest.json", manifest);
    } finally {
      Files.deleteIfExists(manifest);
    }
    log.info("saved state published prefix={} layers={} took_ms={} to {}", prefix, below.size() + 1, (System.nanoTime() - t0) / 1_000_000, s.describe());
  }

  /** The frozen layers under a top layer as the bucket has them, from the top down, and the base (a template artifact) as this node names it. */
  record Chain(List<Layer> below, String base) {}

  /** Puts every frozen layer under {@code top} in the bucket (each once: they never change) and says what they are. */
  Chain shareChain(Path top) throws IOException {
    ObjectStore s = store.orElseThrow(() -> new IOException("no object store: disk layers are not shared"));
    List<Layer> below = new ArrayList<>();
    for (Path p = top; ; ) {
      Optional<Path> backing = DiskParents.of(p);
      if (backing.isEmpty()) throw new IOException("disk layer " + p + " has no base: it is not a layer of this node");
      Path b = backing.get().toAbsolutePath().normalize();
      if (!b.getParent().equals(disks.dir())) return new Chain(below, b.toString());
      below.add(shareFrozen(s, b));
      p = b;
    }
  }

  /**
   * A chain's layers here, fetched if this node lacks them, each pointed at its base here; returns
   * the layer a new top goes on, held (with everything under it) until the caller closes the hold,
   * which it does once its own layer on it exists (a pending layer keeps its chain).
   */
  record ChainHere(Path top, DiskLayers.Hold hold) implements AutoCloseable {
    @Override
    public void close() {
      hold.close();
    }
  }

  ChainHere fetchChain(Chain chain) throws IOException, InterruptedException {
    ObjectStore s = store.orElseThrow(() -> new IOException("no object store: disk layers are not shared"));
    Files.createDirectories(disks.dir());
    List<DiskLayers.Hold> held = new ArrayList<>();
    try {
      Path base = artifacts.ensureBase(Path.of(chain.base()));
      // Each layer is held before it is looked for or moved into place, so a collection running
      // meanwhile never takes one this fetch is about to build on.
      for (int i = chain.below().size() - 1; i >= 0; i--) {
        held.add(disks.hold(here(chain.below().get(i))));
        base = frozenHere(s, chain.below().get(i), base);
      }
      return new ChainHere(base, () -> held.forEach(DiskLayers.Hold::close));
    } catch (ObjectStoreException e) {
      held.forEach(DiskLayers.Hold::close);
      throw new IOException("fetching disk layers failed: " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      held.forEach(DiskLayers.Hold::close);
      throw e;
    }
  }

  private static Layer shareFrozen(ObjectStore s, Path layer) {
    Layer l = new Layer("disks/" + layer.getFileName(), layer.getFileName().toString());
    if (s.head(new ObjectKey(l.key())).isEmpty()) put(s, l.key(), layer);
    return l;
  }

  private static void put(ObjectStore s, String key, Path file) {
    s.put(new ObjectKey(key), file);
  }

  /** Whether the bucket holds a whole state under {@code prefix}. */
  boolean has(String prefix) {
    return store.isPresent() && store.get().head(new ObjectKey(prefix + "/manifest.json")).isPresent();
  }

  /**
   * Fetches the state under {@code prefix} to {@code stateTarget} and its disk chain into this
   * node's {@code disks/}, each layer's header rewritten to name its base here. The top layer is
   * protected from collection (pending) until the caller records it.
   */
  Fetched fetch(String prefix, Path stateTarget) throws IOException, InterruptedException {
    ObjectStore s = store.orElseThrow(() -> new IOException("no object store: saved states are not shared"));
    Files.createDirectories(disks.dir());
    Path manifestFile = Files.createTempFile(disks.dir(), ".manifest", ".json");
    Manifest m;
    try {
      s.get(new ObjectKey(prefix + "/manifest.json"), manifestFile);
      m = JSON.readValue(manifestFile.toFile(), Manifest.class);
    } catch (ObjectStoreException e) {
      throw new IOException("the saved state " + prefix + " is not in " + s.describe() + ": " + e.getMessage(), e);
    } finally {
      Files.deleteIfExists(manifestFile);
    }
    long t0 = System.nanoTime();
    try (ChainHere chain = fetchChain(new Chain(m.below(), m.base()))) {
      Path base = chain.top();
      Path top;
      DiskLayers.Hold hold;
      if (m.top().key().startsWith("disks/")) {
        hold = disks.hold(here(m.top()));
        top = frozenHere(s, m.top(), base);
      } else {
        top = disks.reserve();
        hold = () -> { }; // pending until recorded, which keeps its chain too
        s.get(new ObjectKey(m.top().key()), top);
        DiskLayers.rebase(top, base);
      }
      Files.createDirectories(stateTarget.getParent());
      if (m.state() != null) s.get(new ObjectKey(m.state()), stateTarget);
      log.info("saved state fetched prefix={} layers={} took_ms={} from {}", prefix, m.below().size() + 1, (System.nanoTime() - t0) / 1_000_000,
          s.describe());
      return new Fetched(m.state() == null ? null : stateTarget, m.stateSha256(), top, hold);
    } catch (ObjectStoreException e) {
      throw new IOException("fetching the saved state " + prefix + " failed: " + e.getMessage(), e);
    }
  }

  /** Where a layer of the manifest goes in this node's {@code disks/}; a name that is not a layer's is refused, never resolved. */
  private Path here(Layer l) throws IOException {
    return disks.named(l.name());
  }

  /** A frozen layer here under its shared name, fetched and pointed at {@code base} if this node does not have it yet. */
  private Path frozenHere(ObjectStore s, Layer l, Path base) throws IOException {
    Path here = here(l);
    if (Files.exists(here)) return here;
    Path partial = disks.reserve();
    try {
      s.get(new ObjectKey(l.key()), partial);
      DiskLayers.rebase(partial, base);
      DiskLayers.freeze(partial);
      // Its record first, so the layer is never there without one.
      Files.move(DiskParents.recordOf(partial), DiskParents.recordOf(here), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      Files.move(partial, here, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(partial);
      DiskParents.forget(partial);
      disks.recorded(partial);
    }
    return here;
  }
}
