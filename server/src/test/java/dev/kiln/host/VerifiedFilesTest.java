package dev.kiln.host;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VerifiedFilesTest {
  @TempDir
  Path dir;

  @Test
  void aFileIsCheckedAgainstItsChecksumAndRefusedWhenItDiffers() throws IOException {
    Path f = Files.writeString(dir.resolve("state"), "saved");
    VerifiedFiles v = new VerifiedFiles();
    assertDoesNotThrow(() -> v.verify(f, Checksums.sha256(f)));
    assertThrows(IOException.class, () -> v.verify(f, "0".repeat(64)));
  }

  @Test
  void aFileMarkedByItsWriterIsNotReadAgainUntilItChanges() throws IOException {
    Path f = Files.writeString(dir.resolve("state"), "saved");
    VerifiedFiles v = new VerifiedFiles();
    // The checksum its writer computed: taken as is while the file is unchanged (the file is not read, or this would fail).
    String claimed = "a".repeat(64);
    v.markVerified(f, claimed);
    assertDoesNotThrow(() -> v.verify(f, claimed));
    Files.writeString(f, "written since");
    assertThrows(IOException.class, () -> v.verify(f, claimed), "a write changes the file's ctime: it is read again");
  }

  @Test
  void theOldestChecksAreForgottenPastTheLimitAndThenReadAgain() throws IOException {
    Path f = Files.writeString(dir.resolve("state"), "saved");
    VerifiedFiles v = new VerifiedFiles();
    String claimed = "b".repeat(64);
    v.markVerified(f, claimed);
    for (int i = 0; i < VerifiedFiles.REMEMBERED; i++) v.markVerified(f, Integer.toString(i));
    assertThrows(IOException.class, () -> v.verify(f, claimed));
  }
}
