package dev.kiln.access;

import dev.kiln.error.ErrorCode;
import dev.kiln.error.KilnException;
import dev.kiln.store.ApiKeyRepository;
import dev.kiln.store.ApiKeyRow;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * API keys: issued, checked, listed and revoked. Keys are 256-bit random strings, so a plain
 * SHA-256 of the key is a safe thing to store (no dictionary to attack; a slow KDF would buy
 * nothing and cost every request). A key given to the daemon in KILN_API_KEY is an admin key held
 * only in memory. Each request reads its key's row, so a revocation holds from the next request.
 */
public final class ApiKeys {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String PREFIX = "kiln_";
  /** Shown in lists: "kiln_" and 8 hex digits, enough to tell keys apart, 32 of 256 bits. */
  private static final int SHOWN = PREFIX.length() + 8;
  private static final Pattern NAME = Pattern.compile("[\\p{Alnum}._@ -]{1,64}");
  private final ApiKeyRepository repo;
  private final Optional<String> adminHash;

  public ApiKeys(ApiKeyRepository repo, Optional<String> adminKey) {
    this.repo = repo;
    this.adminHash = adminKey.filter(k -> !k.isBlank()).map(ApiKeys::sha256);
  }

  /** The caller a presented key stands for; empty for no key, an unknown one, or a revoked one. */
  public Optional<Caller> authenticate(String presented) {
    if (presented == null || presented.isEmpty() || presented.length() > 256) return Optional.empty();
    String h = sha256(presented);
    if (adminHash.isPresent() && MessageDigest.isEqual(adminHash.get().getBytes(StandardCharsets.US_ASCII), h.getBytes(StandardCharsets.US_ASCII))) {
      return Optional.of(Caller.ENVIRONMENT_ADMIN);
    }
    return repo.findActiveByHash(h).map(r -> new Caller(r.id(), Role.valueOf(r.role())));
  }

  public boolean anyConfigured() {
    return adminHash.isPresent() || repo.countActive() > 0;
  }

  /** Creates and stores a new key; the plaintext is returned once and never stored. */
  public IssuedKey create(String name, Role role, KeyLimits limits) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new KilnException(ErrorCode.INVALID_REQUEST, "a key's name is 1-64 letters, digits, spaces and . _ @ -, got " + (name == null ? "none" : "'" + name + "'"));
    }
    if (role == Role.ADMIN && !limits.none()) throw new KilnException(ErrorCode.INVALID_REQUEST, "an admin key has no limits: give limits to user keys");
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    String key = PREFIX + HexFormat.of().formatHex(raw);
    ApiKeyRow row = new ApiKeyRow(UUID.randomUUID().toString(), name, role.name(), key.substring(0, SHOWN), Instant.now(), Optional.empty(),
        limits.sandboxes(), limits.vcpus(), limits.memoryMib(), limits.templates());
    repo.insert(row, sha256(key));
    return new IssuedKey(key, info(row));
  }

  public List<KeyInfo> list() {
    return repo.all().stream().map(ApiKeys::info).toList();
  }

  /**
   * Revokes a key at once. The last admin key that is not revoked stays, unless the daemon has its
   * own (KILN_API_KEY): without one nobody could make or revoke keys again.
   */
  public KeyInfo revoke(String id) {
    KeyInfo k = repo.find(id).map(ApiKeys::info).orElseThrow(() -> new KilnException(ErrorCode.KEY_NOT_FOUND, "no API key with id '" + id + "'"));
    if (k.revokedAt().isPresent()) return k;
    boolean lastAdmin = k.role() == Role.ADMIN && adminHash.isEmpty()
        && list().stream().filter(o -> o.role() == Role.ADMIN && o.revokedAt().isEmpty()).count() == 1;
    if (lastAdmin) {
      throw new KilnException(ErrorCode.ILLEGAL_TRANSITION, "key " + id + " is the last admin key: make another admin key first "
          + "(or start the daemon with KILN_API_KEY), so that keys can still be managed");
    }
    repo.revoke(id, Instant.now());
    return repo.find(id).map(ApiKeys::info).orElseThrow();
  }

  private static KeyInfo info(ApiKeyRow r) {
    return new KeyInfo(r.id(), r.name(), Role.valueOf(r.role()), r.prefix(), r.createdAt(), r.revokedAt(),
        new KeyLimits(r.maxSandboxes(), r.maxVcpus(), r.maxMemoryMib(), r.maxTemplates()));
  }

  static String sha256(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
  }
}
