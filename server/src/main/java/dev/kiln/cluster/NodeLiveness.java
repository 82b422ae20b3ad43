package dev.kiln.cluster;

import java.time.Duration;

/**
 * The cluster job that marks nodes down once they have been silent for {@code downAfter}: run on
 * every daemon's tick, it acts only on the one that leads it.
 */
public final class NodeLiveness {
  static final String JOB = "node-liveness";
  private final NodeRegistry registry;
  private final Leadership leadership;
  private final Duration downAfter;

  public NodeLiveness(NodeRegistry registry, Leadership leadership, Duration downAfter) {
    this.registry = registry;
    this.leadership = leadership;
    this.downAfter = downAfter;
  }

  public void check() {
    if (leadership.leads(JOB)) registry.markSilentDown(downAfter);
  }
}
