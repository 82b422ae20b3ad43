package dev.kiln.sandbox;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.host.AtomicFiles;
import dev.kiln.net.NetworkSpec;
import dev.kiln.store.CheckpointRepository;
import dev.kiln.store.CheckpointRow;
import dev.kiln.store.NodeRepository;
import dev.kiln.store.NetworkRow;
import dev.kiln.store.NodeRow;
import dev.kiln.store.SandboxListRow;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Saved states that move between nodes through the cluster's bucket (docs/adr/0017): a paused
 * sandbox whose node is down is taken over by this node, and a checkpoint another node took is
 * forked here. Both fetch the state and its disk layers ({@link BucketStates}) and then go on as
 * a resume or a fork on this node would.
 */
final class Relocation {
  private static final Logger log = LoggerFactory.getLogger(Relocation.class);
  private final SandboxRepository repo;
  private final SandboxRows rows;
  private final NodeRepository nodes;
  private final BucketStates bucket;
  private final RunDirs dirs;
  private final SandboxNetworks networks;
  private final SandboxRegistry live;
  private final CheckpointRepository checkpoints;
  private final Forks forks;
  /** Sandboxes this node is taking over now: one take-over of a sandbox at a time here. */
  private final java.util.Set<String> adopting = java.util.concurrent.ConcurrentHashMap.newKeySet();

  Relocation(SandboxRepository repo, SandboxRows rows, NodeRepository nodes, BucketStates bucket, RunDirs dirs, SandboxNetworks networks,
      SandboxRegistry live, CheckpointRepository checkpoints, Forks forks) {
    this.repo = repo;
    this.rows = rows;
    this.nodes = nodes;
    this.bucket = bucket;
    this.dirs = dirs;
    this.networks = networks;
    this.live = live;
    this.checkpoints = checkpoints;
    this.forks = forks;
  }

  /**
   * Takes over a paused sandbox whose node is down or draining (or a stopped one of a draining
   * node): its saved state and disk come from the bucket, it gets a network on this node with the
   * same rules, and its row says it is here (compare-and-set: of two nodes asked at once, one wins
   * and the other answers 409). A resume (a start) follows as on its own node.
   */
  void adoptPaused(String id) throws InterruptedException {
    if (!adopting.add(id)) {
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is being taken over by this node already; try again in a moment");
    }
    try {
      adoptLocked(id);
    } finally {
      adopting.remove(id);
    }
  }

  private void adoptLocked(String id) throws InterruptedException {
    // One read: the row, the version its pause is stored under, and its network row (for the token).
    SandboxListRow listed = repo.findListed(id).orElseThrow(() -> SandboxId.notFound(id));
    SandboxRow r = listed.sandbox();
    if (r.nodeId().equals(rows.nodeId())) return;
    SandboxState state = SandboxRows.stateOf(r);
    if (state != SandboxState.PAUSED && state != SandboxState.STOPPED) {
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is " + state.wire() + ": only a paused or stopped sandbox moves to another node "
          + "this way (a running one migrates live)");
    }
    Optional<NodeRow> from = nodes.find(r.nodeId());
    if (from.isPresent() && from.get().state().equals("UP") && !from.get().cordoned()) {
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " is " + state.wire() + " on node " + from.get().name() + ", which is up: it "
          + (state == SandboxState.PAUSED ? "resumes" : "starts") + " there");
    }
    // A stopped sandbox's disk is in the bucket only once its node was drained.
    String prefix = state == SandboxState.PAUSED ? BucketStates.pausedPrefix(id, listed.version()) : BucketStates.stoppedPrefix(id, listed.version());
    if (!bucket.has(prefix)) {
      throw new KilnException(ErrorCode.SANDBOX_LOST, "sandbox " + id + " was " + state.wire() + " on node " + r.nodeId() + ", which is down, and its "
          + (state == SandboxState.PAUSED ? "paused state" : "disk") + " is not in the object store: it goes on only when that node is back");
    }
    NetworkSpec network = networks.specOf(id);
    Optional<String> token = listed.network().flatMap(NetworkRow::accessToken);
    // Fetched beside the run directory, and moved into it only once the row is this node's: a
    // take-over that loses the compare-and-set removes only its own files.
    Path staging = dirs.root().resolve("." + id + ".adopting-" + Long.toHexString(System.nanoTime()));
    BucketStates.Fetched f;
    try {
      f = bucket.fetch(prefix, staging.resolve("paused.state"));
    } catch (IOException e) {
      removeQuietly(staging);
      throw new KilnException(ErrorCode.OBJECT_STORE_FAILED, "sandbox " + id + " could not be fetched from the object store: " + e.getMessage(), e);
    }
    VmSpec spec = bucket.withMemoryHere(SandboxRows.vmSpecOf(r).renamed(id, dirs.of(id)).withRootDisk(f.top()).withNic(Optional.empty()));
    String why = "its node " + from.map(NodeRow::name).orElse(r.nodeId()) + (from.map(NodeRow::cordoned).orElse(false) ? " is draining" : " is down")
        + "; taken over by node " + rows.nodeId() + " with its " + (state == SandboxState.PAUSED ? "paused state" : "disk") + " from the object store";
    try (f) {
      if (!repo.moveToNode(id, r.nodeId(), rows.nodeId(), VmRecords.encode(spec), why)) {
        throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " changed while it was being taken over (another node took it, or its own is back); try again");
      }
      Files.createDirectories(dirs.of(id));
      if (f.state() != null) {
        Files.move(f.state(), dirs.pausedState(id), StandardCopyOption.ATOMIC_MOVE);
        AtomicFiles.write(dirs.pausedStateSha256(id), f.sha256().getBytes(StandardCharsets.US_ASCII));
      }
    } catch (IOException e) {
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + id + " was taken over but its state could not be put in place: " + e.getMessage(), e);
    } finally {
      bucket.recorded(f.top());
      removeQuietly(staging);
    }
    // The same rules and the same access token: links to its ports keep working once it runs here.
    if (network.hasDevice()) repo.recordVmJson(id, VmRecords.encode(spec.withNic(networks.attach(id, network, token))));
    live.add(new SandboxId(id));
    log.info("sandbox taken over sandbox={} from_node={} to_node={}", id, r.nodeId(), rows.nodeId());
  }

  private static void removeQuietly(Path dir) {
    try {
      AtomicFiles.deleteTree(dir);
    } catch (IOException e) {
      log.warn("{} not removed: {}", dir, e.getMessage());
    }
  }

  /**
   * Forks a checkpoint another node took, here: its state and frozen disk come from the bucket;
   * the forks are this node's sandboxes.
   */
  List<Sandbox> forkCheckpoint(String sourceId, String name, int count, String owner) throws InterruptedException {
    SandboxRow source = repo.find(sourceId).orElseThrow(() -> SandboxId.notFound(sourceId));
    CheckpointRow cp = checkpoints.find(sourceId, name)
        .orElseThrow(() -> new KilnException(ErrorCode.CHECKPOINT_NOT_FOUND, "sandbox " + sourceId + " has no checkpoint named '" + name + "'"));
    if (source.nodeId().equals(rows.nodeId())) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "sandbox " + sourceId + " runs on this node: its checkpoints fork here without the object store");
    }
    String prefix = BucketStates.checkpointPrefix(sourceId, cp.id());
    if (!bucket.has(prefix)) {
      throw new KilnException(ErrorCode.CHECKPOINT_NOT_FOUND, "checkpoint '" + name + "' of " + sourceId + " is not in the object store: only node "
          + source.nodeId() + " can fork it");
    }
    // A path of this call's own: two forks of one checkpoint at once each fetch and remove their copy.
    Path state = dirs.root().resolve("." + sourceId + "." + cp.id() + ".fork-" + Long.toHexString(System.nanoTime())).resolve("state");
    try (BucketStates.Fetched f = bucket.fetch(prefix, state)) {
      Checkpoints.Saved saved = new Checkpoints.Saved(bucket.withMemoryHere(VmRecords.decode(cp.vmJson()).withRootDisk(f.top())), f.state(), f.sha256(), cp.stateBytes());
      return forks.forkFrom(source, saved, count, "checkpoint '" + name + "' of " + sourceId + " (from the object store)", owner);
    } catch (IOException e) {
      throw new KilnException(ErrorCode.OBJECT_STORE_FAILED, "checkpoint '" + name + "' of " + sourceId + " could not be fetched: " + e.getMessage(), e);
    } catch (dev.kiln.vmm.VmmException e) {
      throw new KilnException(ErrorCode.INTERNAL, "checkpoint " + cp.id() + " has an unreadable VM record", e);
    } finally {
      removeQuietly(state.getParent());
    }
  }
}
