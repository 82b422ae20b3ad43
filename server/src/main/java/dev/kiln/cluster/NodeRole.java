package dev.kiln.cluster;

import java.util.Locale;

/** What a node's daemon does: COMBINED serves the API and runs VMs (one host); NODE runs VMs behind control instances. */
public enum NodeRole {
  COMBINED, NODE;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }
}
