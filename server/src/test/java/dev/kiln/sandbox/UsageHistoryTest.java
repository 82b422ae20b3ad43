package dev.kiln.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class UsageHistoryTest {
  private static SandboxUsage usage(String id, Instant at, double cpu) {
    return new SandboxUsage(id, "running", at, cpu, 100, 200, 300, 1, 2);
  }

  @Test
  void keepsAnHourOfSamplesPerSandboxOldestFirst() {
    List<SandboxUsage> now = new ArrayList<>();
    UsageHistory h = new UsageHistory(() -> now);
    for (int i = 0; i < 300; i++) {
      now.clear();
      now.add(usage("a", Instant.now(), i));
      h.sample();
    }
    List<SandboxUsage> kept = h.of("a");
    assertEquals(240, kept.size(), "an hour at one sample every 15 s");
    assertEquals(60.0, kept.getFirst().cpuSeconds());
    assertEquals(299.0, kept.getLast().cpuSeconds());
    assertTrue(h.of("b").isEmpty());
  }

  @Test
  void aSandboxThatStopsRunningKeepsItsSamplesUntilTheyAreAnHourOld() {
    List<SandboxUsage> now = new ArrayList<>(List.of(usage("paused-later", Instant.now(), 1), usage("gone-long-ago", Instant.now().minusSeconds(3700), 1)));
    UsageHistory h = new UsageHistory(() -> now);
    h.sample();
    now.clear();
    h.sample();
    assertEquals(1, h.of("paused-later").size(), "paused: its chart still has the last hour");
    assertTrue(h.of("gone-long-ago").isEmpty(), "its last sample is over an hour old");
  }
}
