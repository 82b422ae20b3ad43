package dev.kiln.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ObjectKeyTest {
  @Test
  void artifactPathsAreKeys() {
    assertEquals("images/0a1b2c/rootfs.ext4", new ObjectKey("images/0a1b2c/rootfs.ext4").value());
    assertEquals("snapshots/x_1/disk.qcow2", new ObjectKey("snapshots/x_1/disk.qcow2").toString());
  }

  @Test
  void keysThatCouldLeaveALocalRootOrHideAreRefused() {
    for (String bad : new String[] {"", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a/", ".hidden", "a/.meta", "a b", "a\\b", "a\0b", "é"}) {
      var e = assertThrows(IllegalArgumentException.class, () -> new ObjectKey(bad), bad);
      assertTrue(e.getMessage().startsWith("object key") || e.getMessage().startsWith("an object key"), e.getMessage());
    }
  }

  @Test
  void keysAreBoundedInLengthAndSegment() {
    new ObjectKey("a/".repeat(255) + "b");
    assertThrows(IllegalArgumentException.class, () -> new ObjectKey("a".repeat(256)));
    assertThrows(IllegalArgumentException.class, () -> new ObjectKey("ab/".repeat(170) + "abc"));
  }

  @Test
  void prefixesAreKeyBeginnings() {
    assertEquals("", ObjectKey.validPrefix(""));
    assertEquals("images/", ObjectKey.validPrefix("images/"));
    assertEquals("images/ab", ObjectKey.validPrefix("images/ab"));
    assertThrows(IllegalArgumentException.class, () -> ObjectKey.validPrefix("../"));
    assertThrows(IllegalArgumentException.class, () -> ObjectKey.validPrefix("/images"));
  }
}
