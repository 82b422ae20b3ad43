package dev.kiln.sandbox;

import java.util.Optional;

/** Finds where a sandbox can move: the node named (by id or name), or the best other one that is up. */
public interface MigrationTargets {
  /** Throws the API's error when there is none (no such node, not up, cordoned, this one). */
  MigrationTarget choose(String sandboxId, Optional<String> node);

  /** A host that is no cluster: nowhere to move to. */
  MigrationTargets NONE = (id, node) -> {
    throw new dev.kiln.error.KilnException(dev.kiln.error.ErrorCode.INVALID_REQUEST,
        "sandbox " + id + " runs on a single-host daemon: live migration moves sandboxes between the nodes of a cluster");
  };
}
