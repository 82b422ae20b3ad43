package dev.kiln.access;

import java.util.Locale;

/** What a key may do: an admin sees and manages everything; a user only what it made, within its limits. */
public enum Role {
  ADMIN,
  USER;

  public String wire() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Role fromWire(String s) {
    for (Role r : values()) {
      if (r.wire().equals(s)) return r;
    }
    throw new IllegalArgumentException("role must be \"admin\" or \"user\", got \"" + s + "\"");
  }
}
