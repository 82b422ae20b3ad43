package dev.kiln.e2b;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import dev.kiln.store.Database;
import dev.kiln.store.SecretRepository;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnvdTokensTest {
  @Test
  void aTokenOpensItsOwnSandboxOnlyAndEveryDaemonOfTheStoreMakesTheSame(@TempDir Path dir) throws Exception {
    String a;
    try (Database db = Database.open(dir.resolve("kiln.db"))) {
      EnvdTokens tokens = EnvdTokens.inStore(new SecretRepository(db));
      a = tokens.tokenFor("sb-a");
      assertTrue(tokens.matches("sb-a", a));
      assertFalse(tokens.matches("sb-b", a));
      assertFalse(tokens.matches("sb-a", a + "x"));
      assertFalse(tokens.matches("sb-a", null));
      assertEquals(a, EnvdTokens.inStore(new SecretRepository(db)).tokenFor("sb-a"), "another daemon on the store (or this one restarted) gives the same token");
    }
    try (Database other = Database.open(dir.resolve("other.db"))) {
      assertNotEquals(a, EnvdTokens.inStore(new SecretRepository(other)).tokenFor("sb-a"), "a store of its own has a key of its own");
    }
  }

  private static EnvdTokens tokens(Path dir) throws Exception {
    try (Database db = Database.open(dir.resolve("kiln.db"))) {
      return EnvdTokens.inStore(new SecretRepository(db));
    }
  }

  @Test
  void signedUrlsAreCheckedAsTheSdkSignsThem(@TempDir Path dir) throws Exception {
    EnvdTokens tokens = tokens(dir);
    String token = tokens.tokenFor("sb-a");
    Instant now = Instant.ofEpochSecond(1_000);
    String plain = sign("/tmp/f:read:user:" + token);
    assertTrue(tokens.signatureValid("sb-a", "/tmp/f", "read", "user", plain, null, now));
    assertFalse(tokens.signatureValid("sb-a", "/tmp/f", "write", "user", plain, null, now), "a read signature does not write");
    assertFalse(tokens.signatureValid("sb-a", "/tmp/g", "read", "user", plain, null, now));
    assertFalse(tokens.signatureValid("sb-b", "/tmp/f", "read", "user", plain, null, now));
    String expiring = sign("/tmp/f:write::" + token + ":1060");
    assertTrue(tokens.signatureValid("sb-a", "/tmp/f", "write", null, expiring, "1060", now));
    assertFalse(tokens.signatureValid("sb-a", "/tmp/f", "write", null, expiring, "1060", Instant.ofEpochSecond(1_061)), "expired");
    assertFalse(tokens.signatureValid("sb-a", "/tmp/f", "write", null, expiring, "99999", now), "the expiration is signed");
    assertFalse(tokens.signatureValid("sb-a", "/tmp/f", "write", null, "v2_x", null, now));
  }

  private static String sign(String material) throws Exception {
    byte[] digest = MessageDigest.getInstance("SHA-256").digest(material.getBytes(StandardCharsets.UTF_8));
    return "v1_" + Base64.getEncoder().withoutPadding().encodeToString(digest);
  }
}
