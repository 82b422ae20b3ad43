package dev.kiln.api;

import dev.kiln.store.ApiKeyRepository;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;

/**
 * API key checks. Keys are 256-bit random strings, so a plain SHA-256 of the key is a safe thing
 * to store (no dictionary to attack; a slow KDF would buy nothing and cost every request).
 * A key given to the daemon in KILN_API_KEY is an admin key held only in memory.
 */
public final class ApiKeys {
  private static final SecureRandom RANDOM = new SecureRandom();
  private final ApiKeyRepository repo;
  private final Optional<String> adminHash;

  public ApiKeys(ApiKeyRepository repo, Optional<String> adminKey) {
    this.repo = repo;
    this.adminHash = adminKey.filter(k -> !k.isBlank()).map(ApiKeys::sha256);
  }

  boolean valid(String presented) {
    if (presented == null || presented.isEmpty() || presented.length() > 256) return false;
    String h = sha256(presented);
    if (adminHash.isPresent() && MessageDigest.isEqual(adminHash.get().getBytes(StandardCharsets.US_ASCII), h.getBytes(StandardCharsets.US_ASCII))) {
      return true;
    }
    return repo.existsHash(h);
  }

  public boolean anyConfigured() {
    return adminHash.isPresent() || repo.count() > 0;
  }

  /** Creates and stores a new key; the plaintext is returned once and never stored. */
  public String create(String name) {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String key = "kiln_" + HexFormat.of().formatHex(raw);
    repo.insert(UUID.randomUUID().toString(), sha256(key), name, Instant.now());
    return key;
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }
}
