package dev.kiln.sandbox;

import dev.kiln.vmm.MigrationStats;

/**
 * What a finished live migration did and cost; {@code vm} is null when the target committed but
 * this node did not hear back. {@code guestDowntimeMillis}: from the guest's stop for the last
 * pass until it ran on the target with its session back (the target's commit answered), on this
 * node's clock; -1 when unknown. {@code groupMoved}: the running members of its network group that
 * moved with it (a group lives on one node).
 */
public record MigrationResult(String sandboxId, String fromNode, String toNode, long tookMillis, MigrationStats vm, double guestDowntimeMillis,
    java.util.List<String> groupMoved) {
  MigrationResult withGroup(java.util.List<String> moved) {
    return new MigrationResult(sandboxId, fromNode, toNode, tookMillis, vm, guestDowntimeMillis, java.util.List.copyOf(moved));
  }
}
