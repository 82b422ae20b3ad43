package dev.kiln.image.layer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootedPathTest {
  @TempDir Path tmp;
  private Path root;
  private RootedPath rooted;

  @BeforeEach
  void createRoot() throws IOException {
    root = Files.createDirectory(tmp.resolve("root")).toRealPath();
    rooted = new RootedPath(root);
  }

  private Path resolve(String name) throws IOException {
    return rooted.resolve(EntryName.of(name));
  }

  private void link(String name, String target) throws IOException {
    Files.createDirectories(root.resolve(name).getParent());
    Files.createSymbolicLink(root.resolve(name), Path.of(target));
  }

  @Test
  void plainNamesAndTheRoot() throws IOException {
    assertEquals(root.resolve("usr/bin/env"), resolve("./usr//bin/./env"));
    assertEquals(root, resolve("./"));
  }

  @Test
  void absoluteTargetStartsOverAtTheRoot() throws IOException {
    link("lib", "/usr/lib");
    assertEquals(root.resolve("usr/lib/libc.so"), resolve("lib/libc.so"));
  }

  @Test
  void dotDotStopsAtTheRoot() throws IOException {
    link("up", "../../../..");
    link("a/b", "../c");
    assertEquals(root.resolve("x"), resolve("up/x"));
    assertEquals(root.resolve("c/x"), resolve("a/b/x"));
  }

  @Test
  void chainsOfSymlinksAreFollowed() throws IOException {
    link("one", "two/");
    link("two", "/three");
    Files.createDirectory(root.resolve("three"));
    assertEquals(root.resolve("three/f"), resolve("one/f"));
  }

  @Test
  void lastComponentIsNeverFollowed() throws IOException {
    link("etc", "/host-etc");
    assertEquals(root.resolve("etc"), resolve("etc"));
  }

  @Test
  void atMostFortySymlinksPerLookup() throws IOException {
    Files.createDirectory(root.resolve("d"));
    for (int i = 0; i < RootedPath.MAX_SYMLINKS; i++) link("l" + i, i == RootedPath.MAX_SYMLINKS - 1 ? "d" : "l" + (i + 1));
    assertEquals(root.resolve("d/f"), resolve("l0/f"), "40 hops");
    link("extra", "l0");
    var e = assertThrows(LayerException.class, () -> resolve("extra/f"));
    assertEquals("layer entry \"extra/f\": more than 40 symlinks resolving \"extra/f\"", e.getMessage());
  }

  @Test
  void loopFailsLikeEloop() throws IOException {
    link("a", "b");
    link("b", "a");
    assertThrows(LayerException.class, () -> resolve("a/x"));
  }
}
