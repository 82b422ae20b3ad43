package dev.kiln.cluster;

import java.util.Locale;

/** UP while its heartbeats arrive; DOWN once it has been silent for the configured time (nothing is placed on it). */
public enum NodeState {
  UP, DOWN;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }
}
