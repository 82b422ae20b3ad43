package dev.kiln.sandbox;

import java.util.List;

/**
 * A node's drain as it goes (docs/adr/0019), stored for every control instance to show: running
 * sandboxes migrated live, paused (and stopped) ones handed over with their state in the bucket,
 * and those a drain cannot move (failed ones, ones being created) left.
 *
 * @param state draining, drained (everything moved), or incomplete (some could not be moved: errors say why)
 * @param running sandboxes that were running, migrated live
 * @param saved paused and stopped sandboxes, handed over with their saved state (a stopped one: its disk) through the bucket
 */
public record DrainProgress(String state, String startedAt, String finishedAt, int parallel, Count running, Count saved, List<String> left,
    List<String> errors) {
  public record Count(int total, int moved, int failed) {
    Count plus(int movedNow, int failedNow) {
      return new Count(total, moved + movedNow, failed + failedNow);
    }
  }
}
