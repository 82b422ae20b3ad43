package dev.kiln.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kiln.host.Checksums;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshot memory as clones map it: a copy no one can write, which each maps copy-on-write. */
class SealedMemoryTest {
  @TempDir Path dir;
  private final SealedMemory memory = new SealedMemory();

  @AfterEach
  void close() throws IOException {
    memory.close();
  }

  private Path ram() throws IOException {
    byte[] content = new byte[1 << 20];
    for (int i = 0; i < 4096; i++) content[i] = (byte) (i * 7 + 1);
    content[(1 << 20) - 1] = 42; // a page of data after a run of zeros, which the copy leaves as a hole
    return Files.write(dir.resolve("memory"), content);
  }

  @Test
  void theCopyHasTheFilesBytesAndChecksumAndNoOneCanWriteIt() throws Exception {
    Path file = ram();
    SealedMemory.Sealed s = memory.of(file);
    assertEquals(Checksums.sha256(file), s.sha256());
    Path copy = Path.of("/proc/self/fd/" + s.fd());
    assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(copy));
    try (FileChannel rw = FileChannel.open(copy, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      IOException refused = assertThrows(IOException.class, () -> rw.write(ByteBuffer.wrap(new byte[] {9}), 0), "its seals refuse even root");
      assertEquals("Operation not permitted", refused.getMessage());
      assertThrows(IOException.class, () -> rw.truncate(10));
      // What each clone does: a private mapping, written copy-on-write.
      MappedByteBuffer mine = rw.map(FileChannel.MapMode.PRIVATE, 0, 4096);
      mine.put(0, (byte) 99);
      assertEquals(99, mine.get(0));
    }
    assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(copy), "the private write went nowhere else");
  }

  @Test
  void oneCopyPerFileUntilTheFileChanges() throws Exception {
    Path file = ram();
    SealedMemory.Sealed first = memory.of(file);
    assertEquals(first, memory.of(file));
    Files.write(file, new byte[] {1, 2, 3}, StandardOpenOption.WRITE);
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
    SealedMemory.Sealed second = memory.of(file);
    assertNotEquals(first.sha256(), second.sha256());
    assertEquals(Checksums.sha256(file), second.sha256());
  }
}
