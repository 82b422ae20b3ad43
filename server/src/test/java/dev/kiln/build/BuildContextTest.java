package dev.kiln.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BuildContextTest {
  @TempDir Path tmp;

  private static byte[] tar(String... namesAndContents) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (TarArchiveOutputStream t = new TarArchiveOutputStream(b)) {
      for (int i = 0; i < namesAndContents.length; i += 2) {
        byte[] c = namesAndContents[i + 1].getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(namesAndContents[i]);
        e.setSize(c.length);
        e.setMode(0100755);
        t.putArchiveEntry(e);
        t.write(c);
        t.closeArchiveEntry();
      }
    }
    return b.toByteArray();
  }

  @Test
  void aContextIsUnpackedAndReadThroughDockerignore() throws Exception {
    BuildContext c = BuildContext.receive(new ByteArrayInputStream(tar("Dockerfile", "FROM a\n", "src/a.c", "int a;", "src/b.log", "x",
        ".dockerignore", "*.log\n**/*.log\n")), tmp.resolve("ctx"), 1 << 20, "limit");
    assertEquals("FROM a\n", c.dockerfile("Dockerfile"));
    List<BuildContext.Entry> src = c.below("src");
    assertEquals(List.of("src/a.c"), src.stream().map(BuildContext.Entry::path).toList(), "src/b.log is ignored");
    assertEquals(0755, src.getFirst().mode());
    assertEquals(64, c.sha256(src.getFirst()).length());
    DockerfileException e = assertThrows(DockerfileException.class, () -> c.select("../etc/passwd", 7));
    assertTrue(e.getMessage().contains("line 7: COPY source '../etc/passwd' is outside the build context"), e.getMessage());
    assertThrows(DockerfileException.class, () -> c.select("src/b.log", 8), "an ignored file is not in the context");
    assertEquals(1, c.select("src/*.c", 9).size());
  }

  @Test
  void entriesOutsideTheContextAndOversizedContextsAreRefusedWithNothingLeft() throws Exception {
    Path dir = tmp.resolve("bad");
    KilnException up = assertThrows(KilnException.class, () -> BuildContext.receive(new ByteArrayInputStream(tar("../x", "y")), dir, 1 << 20, "limit"));
    assertEquals(ErrorCode.INVALID_REQUEST, up.code());
    assertFalse(Files.exists(dir));
    KilnException big = assertThrows(KilnException.class,
        () -> BuildContext.receive(new ByteArrayInputStream(tar("a", "x".repeat(2048))), dir, 1024, "builds.maxContextMib"));
    assertEquals(ErrorCode.PAYLOAD_TOO_LARGE, big.code());
    assertTrue(big.getMessage().contains("builds.maxContextMib"), big.getMessage());
    assertFalse(Files.exists(dir));
  }

  @Test
  void aRefusedContextLeavesTheRequestsStreamOpenSoTheRestCanBeDrainedBeforeTheAnswer() throws Exception {
    byte[] body = tar("a", "x".repeat(64 << 10), "b", "y");
    boolean[] closed = {false};
    java.io.InputStream request = new java.io.FilterInputStream(new ByteArrayInputStream(body)) {
      @Override
      public void close() {
        closed[0] = true;
      }
    };
    KilnException big = assertThrows(KilnException.class, () -> BuildContext.receive(request, tmp.resolve("big"), 1024, "builds.maxContextMib"));
    assertEquals(ErrorCode.PAYLOAD_TOO_LARGE, big.code());
    assertFalse(closed[0], "closed under the caller, which drains the rest (a connection closed on unread bytes is reset under the 413)");
    assertTrue(request.read(new byte[1 << 16]) > 0, "the rest is still there to drain");
  }
}
