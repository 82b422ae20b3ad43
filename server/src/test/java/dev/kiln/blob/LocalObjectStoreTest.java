package dev.kiln.blob;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kiln.blob.ObjectStoreException.Problem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalObjectStoreTest extends ObjectStoreContract {
  private Path root;

  @Override
  ObjectStore newStore(TransferFaults faults) throws Exception {
    root = Files.createTempDirectory(tmp, "store");
    return new LocalObjectStore(root, faults);
  }

  @Override
  Path backendFile(ObjectKey key) {
    return root.resolve(key.value());
  }

  @Test
  void objectsAreFilesUnderTheRootAndTheirChecksumsAreHidden() throws Exception {
    ObjectStore s = store();
    s.put(new ObjectKey("images/a/rootfs.ext4"), file("src", 10, 1));
    assertTrue(Files.isRegularFile(root.resolve("images/a/rootfs.ext4")));
    assertTrue(Files.isRegularFile(root.resolve(".meta/images/a/rootfs.ext4.sha256")));
    assertEquals(List.of(new ObjectKey("images/a/rootfs.ext4")), s.listAll(""));
  }

  @Test
  void aDataFileWithoutItsChecksumIsRefused() throws Exception {
    ObjectStore s = store();
    Files.createDirectories(root.resolve("images/x"));
    Files.writeString(root.resolve("images/x/rootfs.ext4"), "not put by kiln");
    var e = assertThrows(ObjectStoreException.class, () -> s.get(new ObjectKey("images/x/rootfs.ext4"), tmp.resolve("out")));
    assertEquals(Problem.CORRUPT, e.problem());
    assertTrue(e.getMessage().contains("has no recorded checksum"), e.getMessage());
  }
}
