package dev.kiln.sandbox;

import dev.kiln.vmm.VmmException;
import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.SandboxRepository;
import dev.kiln.store.SandboxRow;
import dev.kiln.vmm.VmRecords;
import dev.kiln.vmm.VmSpec;

/**
 * Reads sandbox rows with the errors a client gets for ids that are not there, and records state
 * changes by compare-and-set.
 */
final class SandboxRows {
  private final SandboxRepository repo;
  private final Tombstones tombstones;
  private final String nodeId;

  SandboxRows(SandboxRepository repo, Tombstones tombstones, String nodeId) {
    this.repo = repo;
    this.tombstones = tombstones;
    this.nodeId = nodeId;
  }

  /**
   * The sandbox's row, for acting on it; an id that is gone is a 404 saying when and why (its
   * tombstone), any other a plain 404. A sandbox another node runs is that node's to act on: 421,
   * so that a control plane that routed by a stale row tries again rather than this node touching
   * a VM it does not have.
   */
  SandboxRow row(String id) {
    if (!SandboxId.isValid(id)) throw SandboxId.notFound(id);
    SandboxRow r = repo.find(id).orElseThrow(() -> gone(id));
    if (!r.nodeId().equals(nodeId)) {
      throw new KilnException(ErrorCode.WRONG_NODE, "sandbox " + id + " runs on node " + r.nodeId() + ", not on this one (" + nodeId + ")");
    }
    return r;
  }

  /** The sandboxes this node runs, oldest first. */
  java.util.List<SandboxRow> mine() {
    return repo.allOn(nodeId);
  }

  /** The node new rows are written for. */
  String nodeId() {
    return nodeId;
  }

  /** The 404 for an id with no row: its tombstone's words if it has one. */
  KilnException gone(String id) {
    return tombstones.gone(id).orElseGet(() -> SandboxId.notFound(id));
  }

  /** Why a sandbox this node has no entry for is not here: another node runs it now (421), or it is gone (404). */
  KilnException goneOrElsewhere(String id) {
    try {
      row(id);
    } catch (KilnException e) {
      return e;
    }
    return gone(id);
  }

  /** Whether the id has a row or a tombstone (its events can be read). */
  boolean known(String id) {
    return SandboxId.isValid(id) && (repo.find(id).isPresent() || tombstones.exists(id));
  }

  /**
   * Records a state change if the row is still in the state the change starts from. The caller
   * holds the sandbox's lock, so a miss means another writer (a second control instance, an
   * operator's SQL) changed the row: 409, nothing recorded.
   */
  void commit(String id, SandboxRepository.StateChange change) {
    if (!repo.transition(id, change)) {
      String now = repo.find(id).map(SandboxRow::state).map(s -> s.toLowerCase(java.util.Locale.ROOT)).orElse("gone");
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "sandbox " + id + " changed state (from " + change.from().toLowerCase(java.util.Locale.ROOT)
          + " to " + now + ") while " + change.to().toLowerCase(java.util.Locale.ROOT) + " was being recorded; try again");
    }
  }

  static SandboxState stateOf(SandboxRow r) {
    return SandboxState.valueOf(r.state());
  }

  /** The VM a sandbox row records. */
  static VmSpec vmSpecOf(SandboxRow r) {
    try {
      return VmRecords.decode(r.vmJson().orElseThrow(() -> new KilnException(ErrorCode.INTERNAL, "sandbox " + r.id() + " has no VM record")));
    } catch (VmmException e) {
      throw new KilnException(ErrorCode.INTERNAL, "sandbox " + r.id() + " has an unreadable VM record: " + e.getMessage(), e);
    }
  }
}
