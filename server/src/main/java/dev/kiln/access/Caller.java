package dev.kiln.access;

import java.util.Optional;

/**
 * The key a request is made with: what it owns is marked with its id. A control instance passes
 * the caller on to the node that does the work in {@link #HEADER}, which a node believes only with
 * the control plane's credential.
 */
public record Caller(String keyId, Role role) {
  /** The caller as a control instance tells a node: {@code <role>:<key id>}. */
  public static final String HEADER = "X-Kiln-Caller";
  /** The daemon's own admin key (KILN_API_KEY), held only in memory: it has no row, so no limits. */
  public static final Caller ENVIRONMENT_ADMIN = new Caller("env", Role.ADMIN);

  public Caller {
    if (keyId.isEmpty() || keyId.indexOf(':') >= 0) throw new IllegalArgumentException("a key id is not empty and has no ':'");
  }

  public boolean admin() {
    return role == Role.ADMIN;
  }

  /** Whether this caller may see and act on what {@code owner} owns. */
  public boolean mayUse(String owner) {
    return admin() || owner.equals(keyId);
  }

  public String header() {
    return role.wire() + ":" + keyId;
  }

  /** A caller from {@link #HEADER}; empty for a value that is not one. */
  public static Optional<Caller> fromHeader(String value) {
    if (value == null) return Optional.empty();
    int colon = value.indexOf(':');
    if (colon < 0) return Optional.empty();
    try {
      return Optional.of(new Caller(value.substring(colon + 1), Role.fromWire(value.substring(0, colon))));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }
}
