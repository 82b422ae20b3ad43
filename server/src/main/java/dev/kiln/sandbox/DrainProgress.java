package dev.kiln.sandbox;

import java.util.List;

/**
 * A node's drain as it goes (docs/adr/0019), stored for every control instance to show: running
 * sandboxes migrated live, paused ones handed over with their state in the bucket, and those a
 * drain cannot move (stopped or failed sandboxes: their disks stay on the node) left.
 *
 * @param state draining, drained (everything moved), or incomplete (some could not be moved: errors say why)
 */
public record DrainProgress(String state, String startedAt, String finishedAt, int parallel, Count running, Count paused, List<String> left,
    List<String> errors) {
  public record Count(int total, int moved, int failed) {
    Count plus(int movedNow, int failedNow) {
      return new Count(total, moved + movedNow, failed + failedNow);
    }
  }
}
