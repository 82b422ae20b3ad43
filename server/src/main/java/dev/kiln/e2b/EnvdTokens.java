package dev.kiln.e2b;

import dev.kiln.store.SecretRepository;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The per-sandbox access tokens E2B's SDK sends to a sandbox's envd ({@code X-Access-Token}): an
 * HMAC of the sandbox id under a key kept in the store. Nothing per sandbox is stored, a daemon
 * restart keeps every token valid, and a token opens its own sandbox only.
 */
public final class EnvdTokens {
  private static final String SECRET_NAME = "e2b.envd-token-key";
  private static final int KEY_BYTES = 32;
  private final byte[] key;

  EnvdTokens(byte[] key) {
    if (key.length != KEY_BYTES) throw new IllegalArgumentException("the token key must be " + KEY_BYTES + " bytes");
    this.key = key.clone();
  }

  /**
   * The key in the store, made by the first daemon that needs it: every node and control instance
   * of a cluster derives the same tokens, so a sandbox's token holds wherever it runs.
   */
  public static EnvdTokens inStore(SecretRepository secrets) {
    byte[] fresh = new byte[KEY_BYTES];
    new SecureRandom().nextBytes(fresh);
    String stored = secrets.getOrPut(SECRET_NAME, HexFormat.of().formatHex(fresh));
    byte[] key;
    try {
      key = HexFormat.of().parseHex(stored);
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException("the stored " + SECRET_NAME + " is not hexadecimal", e);
    }
    return new EnvdTokens(key);
  }

  /** The token of this sandbox, as E2B's create and connect answers carry it. */
  public String tokenFor(String sandboxId) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(hmac("envd-access-token:" + sandboxId));
  }

  boolean matches(String sandboxId, String presented) {
    return presented != null && MessageDigest.isEqual(tokenFor(sandboxId).getBytes(StandardCharsets.UTF_8), presented.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Whether {@code signature} is the SDK's signature of a file URL (uploadUrl/downloadUrl) for
   * this sandbox: {@code v1_} and base64(sha256("path:operation:user:token[:expiration]")) without
   * padding, and not expired.
   */
  boolean signatureValid(String sandboxId, String path, String operation, String user, String signature, String expiration, Instant now) {
    if (signature == null || !signature.startsWith("v1_")) return false;
    String material = path + ":" + operation + ":" + (user == null ? "" : user) + ":" + tokenFor(sandboxId);
    if (expiration != null) {
      long until;
      try {
        until = Long.parseLong(expiration);
      } catch (NumberFormatException e) {
        return false;
      }
      if (now.getEpochSecond() > until) return false;
      material += ":" + expiration;
    }
    String want;
    try {
      want = Base64.getEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256").digest(material.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is missing from this JDK", e);
    }
    String got = signature.substring(3).replaceAll("=+$", "");
    return MessageDigest.isEqual(want.getBytes(StandardCharsets.UTF_8), got.getBytes(StandardCharsets.UTF_8));
  }

  private byte[] hmac(String message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
    }
  }
}
