package dev.kiln.audit;

import dev.kiln.store.AuditRow;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * How a record is chained: SHA-256 over its predecessor's hash and its own fields, each written
 * with its length first, so that no two different records hash alike by moving text between
 * fields. The first record of a chain follows {@link #GENESIS}.
 */
final class AuditChain {
  static final String GENESIS = "0".repeat(64);

  private AuditChain() {}

  static String hash(String prevHash, String chain, long seq, long atMillis, String actor, String action, String sandboxId, int status,
      String detailJson) {
    MessageDigest d;
    try {
      d = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is always available", e);
    }
    for (String field : new String[] {prevHash, chain, Long.toString(seq), Long.toString(atMillis), actor, action, sandboxId, Integer.toString(status),
        detailJson}) {
      byte[] b = field.getBytes(StandardCharsets.UTF_8);
      d.update((b.length + ":").getBytes(StandardCharsets.US_ASCII));
      d.update(b);
    }
    return HexFormat.of().formatHex(d.digest());
  }

  /** The hash a stored record should have. */
  static String hashOf(AuditRow r) {
    return hash(r.prevHash(), r.chain(), r.seq(), r.atMillis(), r.actor(), r.action(), r.sandboxId(), r.status(), r.detailJson());
  }
}
