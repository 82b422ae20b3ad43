package dev.kiln.sandbox;

import java.util.Optional;

/** Whether this host takes new sandboxes now: in a cluster, its node's cordon and liveness decide. */
@FunctionalInterface
public interface Placement {
  /** Empty if a new sandbox may start here; otherwise why not, in words for the 503 a create gets. */
  Optional<String> refusal();

  /** A host that always takes them (tests that build a manager without a cluster). */
  Placement ANYWHERE = Optional::empty;
}
