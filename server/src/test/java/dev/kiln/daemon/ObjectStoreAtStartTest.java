package dev.kiln.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.kiln.config.KilnConfig;
import dev.kiln.fixtures.LocalS3;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** A daemon whose bucket cannot be used refuses to start with one line naming it, and leaves its data directory free. */
@ExtendWith(LocalS3.Extension.class)
class ObjectStoreAtStartTest {
  @TempDir Path dir;

  private KilnConfig config(String objectStore) throws Exception {
    return KilnConfig.load(Files.writeString(dir.resolve("kiln.json"),
        "{\"dataDir\": \"" + dir.resolve("data") + "\", \"network\": {\"enabled\": false}, \"objectStore\": " + objectStore + "}"));
  }

  private String refusal(KilnConfig c) {
    DaemonStartException e = assertThrows(DaemonStartException.class, () -> new KilnDaemon(c, Optional.empty()).close());
    assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    return e.getMessage();
  }

  @Test
  void anUnreachableEndpointIsNamed() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    String url = "http://127.0.0.1:" + port;
    Path creds = LocalS3.credentialsFile(dir.resolve("creds"), LocalS3.ACCESS_KEY, LocalS3.SECRET_KEY);
    assertEquals("object store at " + url + " cannot be reached (connection refused) to open the bucket (the `objectStore` config key)",
        refusal(config("{\"bucket\": \"kiln-artifacts\", \"endpoint\": \"" + url + "\", \"credentialsFile\": \"" + creds + "\"}")));
  }

  @Test
  void noCredentialsAnywhereSaysWhereToPutThem(LocalS3 s3) throws Exception {
    assumeTrue(System.getenv("AWS_ACCESS_KEY_ID") == null && !Files.exists(Path.of(System.getProperty("user.home"), ".aws")),
        "this machine has AWS credentials of its own");
    assertEquals("no credentials for bucket 'kiln-artifacts' at " + s3.endpoint() + ": give objectStore.credentialsFile, or set AWS_ACCESS_KEY_ID "
        + "and AWS_SECRET_ACCESS_KEY (the `objectStore` config key)",
        refusal(config("{\"bucket\": \"kiln-artifacts\", \"endpoint\": \"" + s3.endpoint() + "\"}")));
  }

  @Test
  void aMissingBucketIsNamedAndTheDataDirectoryIsLeftFree(LocalS3 s3) throws Exception {
    Path creds = LocalS3.credentialsFile(dir.resolve("creds"), LocalS3.ACCESS_KEY, LocalS3.SECRET_KEY);
    String store = "{\"bucket\": \"kiln-missing\", \"endpoint\": \"" + s3.endpoint() + "\", \"credentialsFile\": \"" + creds + "\"}";
    String want = "bucket 'kiln-missing' does not exist at " + s3.endpoint() + " (the `objectStore` config key)";
    assertEquals(want, refusal(config(store)));
    assertEquals(want, refusal(config(store)), "the first attempt released the data directory");
  }
}
