package dev.kiln.build;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DockerIgnoreTest {
  @Test
  void patternsExcludeLikeDockers() {
    DockerIgnore i = DockerIgnore.parse("""
        # comment
        node_modules
        *.log
        **/secret.txt
        /build/
        docs
        !docs/keep.md
        """);
    assertTrue(i.excludes("node_modules/x/y.js"));
    assertTrue(i.excludes("app.log"));
    assertFalse(i.excludes("sub/app.log"), "* stays within one segment");
    assertTrue(i.excludes("a/b/secret.txt"));
    assertTrue(i.excludes("secret.txt"));
    assertTrue(i.excludes("build/out.o"));
    assertTrue(i.excludes("docs/other.md"));
    assertFalse(i.excludes("docs/keep.md"), "an exception after the exclusion wins");
    assertFalse(i.excludes("src/main.c"));
    assertFalse(DockerIgnore.NONE.excludes("anything"));
  }
}
