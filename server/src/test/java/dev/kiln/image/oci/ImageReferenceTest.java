package dev.kiln.image.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ImageReferenceTest {
  private static final String D = "sha256:" + "ab".repeat(32);

  @Test
  void dockerHubDefaults() {
    ImageReference r = ImageReference.parse("python:3.12-slim");
    assertEquals("docker.io/library/python:3.12-slim", r.toString());
    assertEquals("registry-1.docker.io", r.apiHost());
    assertEquals("3.12-slim", r.manifestReference());
    assertEquals("docker.io/library/busybox:latest", ImageReference.parse("busybox").toString());
    assertEquals("docker.io/team/app:latest", ImageReference.parse("team/app").toString());
  }

  @Test
  void registryHostsPortsAndLocalhost() {
    ImageReference r = ImageReference.parse("127.0.0.1:5000/kiln/busybox:v1");
    assertEquals("127.0.0.1:5000", r.registry());
    assertEquals("kiln/busybox", r.repository());
    assertEquals("v1", r.manifestReference());
    assertEquals("localhost", ImageReference.parse("localhost/app").registry());
    assertEquals("ghcr.io", ImageReference.parse("ghcr.io/org/tool:1.0").registry());
    // A first component without '.', ':' or "localhost" is a namespace on Docker Hub, not a host.
    assertEquals("docker.io", ImageReference.parse("myhost/app").registry());
  }

  @Test
  void digestsPinTheManifest() {
    ImageReference r = ImageReference.parse("127.0.0.1:5000/app:v1@" + D);
    assertEquals(D, r.manifestReference());
    assertEquals("v1", r.tag().orElseThrow());
    ImageReference bare = ImageReference.parse("app@" + D);
    assertTrue(bare.tag().isEmpty());
    assertEquals("docker.io/library/app@" + D, bare.toString());
  }

  @Test
  void badReferencesAreRefusedWithTheReason() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("Upper/Case")).getMessage().contains("invalid repository name"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("app@md5:abc")).getMessage().contains("only sha256"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("app:bad/tag:x")).getMessage().contains("invalid"));
    assertThrows(IllegalArgumentException.class, () -> ImageReference.parse(" "));
    assertThrows(IllegalArgumentException.class, () -> ImageReference.parse("a/../b"));
  }
}
