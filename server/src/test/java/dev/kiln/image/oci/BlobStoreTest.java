package dev.kiln.image.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BlobStoreTest {
  @TempDir Path data;

  @Test
  void verifiedBlobsAreFoundByDigest() throws Exception {
    BlobStore store = new BlobStore(data);
    byte[] content = "layer bytes".getBytes(StandardCharsets.UTF_8);
    Digest d = Digest.of(content);
    assertTrue(store.find(d).isEmpty());
    Path p = store.put(d, content.length, new ByteArrayInputStream(content), "test");
    assertEquals(p, store.find(d).orElseThrow());
    assertEquals("layer bytes", Files.readString(p));
  }

  @Test
  void digestMismatchIsRefusedAndNothingIsKept() throws Exception {
    BlobStore store = new BlobStore(data);
    Digest claimed = Digest.of("what the manifest promised".getBytes(StandardCharsets.UTF_8));
    byte[] sent = "what the registry sent".getBytes(StandardCharsets.UTF_8);
    var e = assertThrows(RegistryException.class, () -> store.put(claimed, sent.length, new ByteArrayInputStream(sent), "registry 127.0.0.1:5000, image x"));
    assertEquals("blob " + claimed + " from registry 127.0.0.1:5000, image x failed verification: got " + Digest.of(sent) + " (" + sent.length
        + " bytes), expected " + claimed + " (" + sent.length + " bytes); the download was discarded", e.getMessage());
    assertTrue(store.find(claimed).isEmpty());
    assertFalse(Files.exists(store.partial(claimed)));
  }
}
