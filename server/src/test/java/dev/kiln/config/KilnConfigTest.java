package dev.kiln.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KilnConfigTest {
  @TempDir Path dir;

  @Test
  void emptyFileGivesDefaults() throws Exception {
    Path f = Files.writeString(dir.resolve("c.json"), "{}");
    KilnConfig c = KilnConfig.load(f);
    assertEquals("127.0.0.1:7788", c.listen());
    assertEquals(300, c.sandboxDefaults().timeoutSeconds());
    assertEquals(120, c.bootTimeoutSeconds());
  }

  @Test
  void unknownKeyIsAnErrorNamingIt() throws Exception {
    Path f = Files.writeString(dir.resolve("c.json"), "{\"listn\": \"0.0.0.0:1\"}");
    Exception e = assertThrows(Exception.class, () -> KilnConfig.load(f));
    assertTrue(e.getMessage().contains("listn"), e.getMessage());
  }

  @Test
  void rangesAreChecked() throws Exception {
    Path f = Files.writeString(dir.resolve("c.json"), "{\"sandboxDefaults\": {\"vcpus\": 0, \"memoryMib\": 512, \"timeoutSeconds\": 1}}");
    Exception e = assertThrows(Exception.class, () -> KilnConfig.load(f));
    assertTrue(e.getMessage().contains("sandboxDefaults.vcpus must be 1..64, got 0"), e.getMessage());
  }
}
