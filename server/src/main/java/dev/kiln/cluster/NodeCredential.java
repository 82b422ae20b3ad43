package dev.kiln.cluster;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The secret a node's internal API and port proxy take from control instances, and only from them
 * (docs/adr/0017). A node makes a new one at each start and publishes it in its row of the shared
 * database, which only the cluster's daemons can read; users' API keys are never accepted there.
 */
public record NodeCredential(String value) {
  /** The header a control instance presents it in, on the API and on the port proxy alike. */
  public static final String HEADER = "X-Kiln-Node-Credential";
  private static final SecureRandom RANDOM = new SecureRandom();

  public NodeCredential {
    if (value == null || !value.matches("kn_[0-9a-f]{64}")) throw new IllegalArgumentException("not a node credential");
  }

  public static NodeCredential random() {
    byte[] raw = new byte[32];
    RANDOM.nextBytes(raw);
    return new NodeCredential("kn_" + HexFormat.of().formatHex(raw));
  }

  /** Constant-time comparison with what a caller presented. */
  public boolean matches(String presented) {
    return presented != null && MessageDigest.isEqual(value.getBytes(StandardCharsets.US_ASCII), presented.getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public String toString() {
    return "NodeCredential[hidden]";
  }
}
