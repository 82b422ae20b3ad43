package dev.kiln.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.store.BuildCacheRepository;
import dev.kiln.store.Database;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StepCacheTest {
  @TempDir Path dir;

  private Path file(String name, int bytes) throws Exception {
    return Files.write(dir.resolve(name), new byte[bytes]);
  }

  @Test
  void entriesGoByAgeThenLeastRecentlyUsedFirstUntilUnderTheSize() throws Exception {
    try (Database db = Database.open(dir.resolve("k.db"))) {
      BuildCacheRepository rows = new BuildCacheRepository(db);
      Instant now = Instant.now();
      rows.put(new BuildCacheRepository.Entry("n1", "stale", file("stale", 10).toString(), 10, now.minus(Duration.ofDays(9)), now.minus(Duration.ofDays(9))));
      rows.put(new BuildCacheRepository.Entry("n1", "old", file("old", 600).toString(), 600, now.minusSeconds(300), now.minusSeconds(300)));
      rows.put(new BuildCacheRepository.Entry("n1", "new", file("new", 600).toString(), 600, now.minusSeconds(10), now.minusSeconds(10)));
      rows.put(new BuildCacheRepository.Entry("n2", "other", file("other", 5000).toString(), 5000, now, now));
      StepCache cache = new StepCache(rows, "n1", 1000, Duration.ofDays(7));
      assertEquals(2, cache.collect(), "the stale one by age, then the least recently used until 1000 bytes are left");
      assertEquals(List.of("new"), rows.allOn("n1").stream().map(BuildCacheRepository.Entry::key).toList());
      assertEquals(1, rows.allOn("n2").size(), "another node's entries are its own");

      assertTrue(cache.find("new").isPresent());
      Files.delete(dir.resolve("new"));
      assertEquals(Optional.empty(), cache.find("new"), "an entry whose file is gone is a miss");
      cache.put("new", file("again", 20));
      assertEquals(Optional.of(dir.resolve("again")), cache.find("new"), "and the step's new result replaces it");
    }
  }
}
