package dev.kiln.store;

import java.util.Optional;

/** A template's current snapshot artifacts ({@code templates.snapshot_id}, {@code snapshot_net_id}): without and with a network device. */
public record TemplateSnapshotIds(Optional<String> plain, Optional<String> network) {
  public static final TemplateSnapshotIds NONE = new TemplateSnapshotIds(Optional.empty(), Optional.empty());

  /** The one with a network device if {@code network}, else the plain one. */
  public Optional<String> of(boolean network) {
    return network ? this.network : plain;
  }
}
