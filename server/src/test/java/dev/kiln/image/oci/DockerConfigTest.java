package dev.kiln.image.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DockerConfigTest {
  @TempDir Path dir;

  @Test
  void readsAuthsByHostAndHubAliases() throws Exception {
    Path f = dir.resolve("config.json");
    Files.writeString(f, """
        {"auths": {
          "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
          "127.0.0.1:5000": {"username": "kiln", "password": "pw"}
        }, "credsStore": "desktop"}""");
    DockerConfig c = new DockerConfig(f);
    assertEquals(new Credentials("hub", "secret"), c.lookup("docker.io").orElseThrow());
    assertEquals(new Credentials("kiln", "pw"), c.lookup("127.0.0.1:5000").orElseThrow());
    assertTrue(c.lookup("ghcr.io").isEmpty());
    assertTrue(new DockerConfig(dir.resolve("missing.json")).lookup("docker.io").isEmpty());
    assertEquals("Credentials[hub, ****]", c.lookup("docker.io").orElseThrow().toString());
  }
}
